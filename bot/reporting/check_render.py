"""What a check run shows: the criteria table (summary), the timeline and jobs (text), and its buttons."""

from __future__ import annotations

from bot.model import ScenarioConclusion, ScenarioResult, ScenarioStatus, Trigger, Verification, VerificationConclusion
from bot.ports import CheckRunAction, CheckRunConclusion, CheckRunOutput
from bot.reporting.escape import md_text, one_line
from bot.reporting.format import cell, clip, clip_short, fmt_time, fmt_value
from bot.reporting.regressions_render import regressions_markdown
from bot.texts import history as history_texts
from bot.texts import reports as texts

#: GitHub's limits for check-run actions (REST "Create a check run": at most 3 actions).
MAX_ACTIONS = 3
ACTION_LABEL_LIMIT = 20
ACTION_DESCRIPTION_LIMIT = 40
ACTION_IDENTIFIER_LIMIT = 20
TITLE_LIMIT = 255

CHECK_CONCLUSION: dict[ScenarioConclusion, CheckRunConclusion] = {
    ScenarioConclusion.PASSED: CheckRunConclusion.SUCCESS,
    ScenarioConclusion.FAILED: CheckRunConclusion.FAILURE,
    # GitHub has no "error": a scenario that could not be carried out must still block a merge.
    ScenarioConclusion.ERROR: CheckRunConclusion.FAILURE,
    ScenarioConclusion.SKIPPED: CheckRunConclusion.SKIPPED,
}

OVERALL_CONCLUSION: dict[VerificationConclusion, CheckRunConclusion] = {
    VerificationConclusion.SUCCESS: CheckRunConclusion.SUCCESS,
    VerificationConclusion.FAILURE: CheckRunConclusion.FAILURE,
    VerificationConclusion.ERROR: CheckRunConclusion.FAILURE,
    VerificationConclusion.CANCELLED: CheckRunConclusion.CANCELLED,
}


def scenario_check_name(scenario: ScenarioResult) -> str:
    return texts.CHECK_NAME_SCENARIO.format(scenario=scenario.id.value)


def finished_actions(verification: Verification) -> list[CheckRunAction]:
    """The buttons of a concluded verification's check runs: Re-run failed, except on a scheduled one (no pull
    request to verify again: the schedule runs the next one)."""
    rerun = any_failed(verification) and verification.trigger is not Trigger.SCHEDULE
    return actions(running=False, any_failed=rerun)


def actions(*, running: bool, any_failed: bool) -> list[CheckRunAction]:
    """Abort while running; Re-run failed once something failed. Always within GitHub's limits."""
    wanted: list[CheckRunAction] = []
    if any_failed:
        wanted.append(CheckRunAction(texts.ACTION_RERUN_LABEL, texts.ACTION_RERUN_DESCRIPTION, texts.ACTION_RERUN_ID))
    if running:
        wanted.append(CheckRunAction(texts.ACTION_ABORT_LABEL, texts.ACTION_ABORT_DESCRIPTION, texts.ACTION_ABORT_ID))
    return [
        CheckRunAction(
            label=clip_short(a.label, ACTION_LABEL_LIMIT),
            description=clip_short(a.description, ACTION_DESCRIPTION_LIMIT),
            identifier=a.identifier[:ACTION_IDENTIFIER_LIMIT],
        )
        for a in wanted[:MAX_ACTIONS]
    ]


def criteria_table(scenario: ScenarioResult) -> str:
    if not scenario.criteria:
        return texts.NO_CRITERIA
    rows = [
        texts.CRITERIA_ROW.format(
            description=cell(c.description),
            observed=md_text(fmt_value(c.observed, c.unit)),
            threshold=md_text(fmt_value(c.threshold, c.unit)),
            result=texts.CRITERION_RESULT[c.passed],
        )
        for c in scenario.criteria
    ]
    return "\n".join([texts.CRITERIA_HEADER, *rows])


def timeline_and_jobs(scenario: ScenarioResult) -> str:
    steps = [
        texts.TIMELINE_ROW.format(
            name=cell(s.name),
            started=fmt_time(s.started_at),
            ended=fmt_time(s.completed_at),
            outcome=cell(s.outcome.value if s.outcome else "running") + (f": {md_text(s.error)}" if s.error else ""),
        )
        for s in scenario.steps
    ]
    jobs = [
        texts.JOBS_ROW.format(
            run=f"[{r.run_id}]({r.html_url})" if r.html_url else str(r.run_id),
            job=md_text(j.name),
            runner=md_text(j.runner_name or "—"),
            created=fmt_time(j.created_at),
            started=fmt_time(j.started_at),
            completed=fmt_time(j.completed_at),
            conclusion=md_text(j.conclusion or j.status or "—"),
        )
        for r in scenario.runs
        for j in r.jobs
    ]
    parts = [
        "\n".join([texts.TIMELINE_HEADER, *steps]),
        "\n".join([texts.JOBS_HEADER, *jobs]) if jobs else texts.NO_JOBS,
    ]
    return "\n\n".join(parts)


def scenario_output(verification: Verification, scenario: ScenarioResult) -> CheckRunOutput:
    if scenario.status is not ScenarioStatus.COMPLETED and verification.conclusion is not None:
        return CheckRunOutput(
            title=texts.CHECK_TITLE_NOT_RUN,
            summary=texts.CHECK_SUMMARY_NOT_RUN.format(conclusion=verification.conclusion.value)
            + (f"\n\n{texts.CHECK_REASON.format(reason=md_text(verification.reason))}" if verification.reason else ""),
        )
    if scenario.status is ScenarioStatus.QUEUED:
        return CheckRunOutput(
            title=texts.CHECK_TITLE_QUEUED,
            summary=texts.CHECK_SUMMARY_QUEUED.format(verification_id=verification.verification_id),
        )
    if scenario.status is ScenarioStatus.COMPLETED:
        title = texts.CHECK_TITLE_DONE.format(verdict=texts.SCENARIO_VERDICT[scenario.conclusion], title=scenario.title)
        if scenario.regressions:
            names = ", ".join(r.measurement for r in scenario.regressions)
            title += history_texts.CHECK_TITLE_REGRESSED.format(measurements=one_line(names))
    else:
        current = scenario.steps[-1].name if scenario.steps else "starting"
        # A check run's title is plain text: only keep it on one line.
        title = texts.CHECK_TITLE_RUNNING.format(step=one_line(current))
    summary = criteria_table(scenario)
    regressions = regressions_markdown([scenario])
    if regressions:
        summary += "\n\n" + regressions
    if scenario.reason and scenario.conclusion is not ScenarioConclusion.PASSED:
        summary = texts.CHECK_REASON.format(reason=md_text(scenario.reason)) + "\n\n" + summary
    return CheckRunOutput(
        title=clip_short(title, TITLE_LIMIT), summary=clip(summary), text=clip(timeline_and_jobs(scenario))
    )


def _state(scenario: ScenarioResult) -> str:
    """The verdict of a concluded scenario, else its status (queued, in_progress)."""
    if scenario.status is ScenarioStatus.COMPLETED:
        return texts.SCENARIO_VERDICT[scenario.conclusion]
    return scenario.status.value


def overall_output(verification: Verification) -> CheckRunOutput:
    total = len(verification.scenarios)
    done = sum(1 for s in verification.scenarios if s.status is ScenarioStatus.COMPLETED)
    passed = sum(1 for s in verification.scenarios if s.conclusion is ScenarioConclusion.PASSED)
    if verification.conclusion is None:
        title = texts.CHECK_TITLE_OVERALL_RUNNING.format(done=done, total=total)
    else:
        title = texts.CHECK_TITLE_OVERALL_DONE.format(passed=passed, total=total)
    rows = [f"| {s.title} | {_state(s)} | {md_text(s.reason or '')} |" for s in verification.scenarios]
    summary = "\n".join(
        [
            texts.VERIFICATION_HEADLINE[verification.conclusion],
            "",
            "| Scenario | Result | Why |",
            "|---|---|---|",
            *rows,
        ]
    )
    if verification.reason:
        summary += "\n\n" + texts.CHECK_REASON.format(reason=md_text(verification.reason))
    regressions = regressions_markdown(verification.scenarios)
    if regressions:
        summary += "\n\n" + regressions
    detail = "\n\n".join(f"## {s.title}\n\n{criteria_table(s)}" for s in verification.scenarios)
    return CheckRunOutput(title=clip_short(title, TITLE_LIMIT), summary=clip(summary), text=clip(detail))


def any_failed(verification: Verification) -> bool:
    return any(s.conclusion in (ScenarioConclusion.FAILED, ScenarioConclusion.ERROR) for s in verification.scenarios)
