"""The PR comment body: the seed's test-results form, what failed, key measurements, the jobs gantt, the faults
injected and their restoration, links to the check runs, and what to do next. report.md is this same text."""

from __future__ import annotations

from bot.github.models import branch_name
from bot.model import SCENARIO_ORDER, ScenarioConclusion, ScenarioResult, ScenarioStatus, Trigger, Verification
from bot.reporting.escape import md_code, md_text, one_line
from bot.reporting.format import cell, clip, fmt_date, fmt_time, fmt_value
from bot.reporting.mermaid import gantt
from bot.reporting.regressions_render import regressions_markdown
from bot.texts import reports as texts
from bot.texts import schedule as schedule_texts

#: GitHub's limit for an issue comment body.
COMMENT_LIMIT = 65_536


def html_base(api_url: str) -> str:
    """The web address that goes with a REST API address (github.com, GHES `/api/v3`, or a local stand-in)."""
    base = api_url.rstrip("/")
    if base == "https://api.github.com":
        return "https://github.com"
    return base.removesuffix("/api/v3")


def conversation_url(base: str, v: Verification) -> str | None:
    """The pull request's page, or a scheduled verification's tracking issue (None: it has none)."""
    if v.pull_request:
        return f"{base}/{v.repository}/pull/{v.pull_request}"
    if v.tracking_issue is not None:
        return f"{base}/{v.repository}/issues/{v.tracking_issue}"
    return None


def check_run_url(base: str, repository: str, check_run_id: int | None) -> str | None:
    return None if check_run_id is None else f"{base}/{repository}/runs/{check_run_id}"


def test_number(scenario: ScenarioResult) -> int:
    return SCENARIO_ORDER.index(scenario.id) + 1


def results_form(verification: Verification) -> str:
    """The seed's "Test Results" lines for the selected scenarios, marked [x] when passed."""
    lines = []
    for s in verification.scenarios:
        verdict = texts.SCENARIO_VERDICT[s.conclusion if s.status is ScenarioStatus.COMPLETED else None]
        lines.append(
            texts.FORM_RESULT_LINE.format(
                mark="x" if s.conclusion is ScenarioConclusion.PASSED else " ",
                n=test_number(s),
                name=texts.SEED_TEST_NAMES[s.id],
                verdict=verdict,
            )
        )
    return "\n".join(lines)


def render_comment(verification: Verification, *, base_url: str, signoff_team: str | None) -> str:
    v = verification
    parts = [
        texts.COMMENT_MARKER.format(verification_id=v.verification_id),
        texts.COMMENT_TITLE.format(environment=v.environment, verification_id=v.verification_id),
        _intro(v) + texts.COMMENT_BRANCH.format(ref=md_code(branch_name(v.ref))),
    ]
    if v.reason:
        parts.append(texts.CHECK_REASON.format(reason=md_text(v.reason)))
    parts.append(
        # Inside the form's code block nothing renders; one line keeps a login from closing the block.
        texts.COMMENT_FORM.format(
            date=fmt_date(v.started_at), requested_by=one_line(v.requested_by), results=results_form(v)
        )
    )
    parts.append(_scenario_table(v, base_url))
    failed = _failed(v)
    if failed:
        parts.append(failed)
    parts.append(_measurements(v))
    regressions = regressions_markdown(v.scenarios)
    if regressions:
        parts.append(regressions)
    chart = gantt(v)
    if chart:
        parts.append(texts.COMMENT_TIMELINE_HEADER + "\n\n" + chart)
    parts.append(_restorations(v))
    if v.jira is not None:
        state = v.jira.error or (", ".join(f"→ {s}" for s in v.jira.transitions) or "commented")
        parts.append(texts.COMMENT_JIRA.format(issue=md_text(v.jira.issue), state=md_text(state)))
    if v.conclusion is None:
        parts.append(texts.COMMENT_FOOTER_RUNNING)
    elif v.trigger is Trigger.SCHEDULE:  # no pull request to re-run on or to sign off
        parts.append(schedule_texts.COMMENT_FOOTER.format(environment=v.environment))
    else:
        parts.append(texts.COMMENT_FOOTER_DONE.format(team=f" `{signoff_team}`" if signoff_team else ""))
        parts.append(texts.COMMENT_API_CALLS.format(calls=v.github_api_calls))
    return clip("\n\n".join(parts), COMMENT_LIMIT - 1)


def _intro(v: Verification) -> str:
    headline = texts.VERIFICATION_HEADLINE[v.conclusion]
    if v.trigger is Trigger.SCHEDULE:
        return schedule_texts.COMMENT_INTRO.format(headline=headline, sha=v.head_sha[:7])
    return texts.COMMENT_INTRO.format(headline=headline, requested_by=md_text(v.requested_by), sha=v.head_sha[:7])


def _scenario_table(v: Verification, base_url: str) -> str:
    rows = []
    for s in v.scenarios:
        url = check_run_url(base_url, v.repository, s.check_run_id)
        verdict = texts.SCENARIO_VERDICT[s.conclusion] if s.status is ScenarioStatus.COMPLETED else s.status.value
        rows.append(
            texts.COMMENT_SCENARIO_ROW.format(
                n=test_number(s),
                title=cell(s.title),
                verdict=verdict,
                reason=md_text(s.reason or ""),
                link=f"[details]({url})" if url else "—",
            )
        )
    return "\n".join([texts.COMMENT_SCENARIOS_HEADER, *rows])


def _failed(v: Verification) -> str | None:
    rows = [
        texts.COMMENT_FAILED_ROW.format(
            scenario=s.id.value,
            description=c.description.rstrip("."),
            observed=md_text(fmt_value(c.observed, c.unit)),
            threshold=md_text(fmt_value(c.threshold, c.unit)),
        )
        for s in v.scenarios
        if s.conclusion in (ScenarioConclusion.FAILED, ScenarioConclusion.ERROR)
        for c in s.failed_criteria()
    ]
    return "\n".join([texts.COMMENT_FAILED_HEADER, *rows]) if rows else None


def _measurements(v: Verification) -> str:
    rows = [
        texts.COMMENT_MEASUREMENT_ROW.format(scenario=s.id.value, name=cell(name), value=fmt_value(value, "s"))
        for s in v.scenarios
        for name, value in s.measurements.items()
    ]
    return (
        "\n".join([texts.COMMENT_MEASUREMENTS_HEADER, *rows])
        if rows
        else texts.COMMENT_MEASUREMENTS_HEADER + "\n| — | — | — |"
    )


def _restorations(v: Verification) -> str:
    if not v.restorations:
        return texts.COMMENT_NO_RESTORATIONS
    rows = [
        texts.COMMENT_RESTORATION_ROW.format(
            host=cell(r.host),
            fault=cell(r.fault).replace("`", "'"),
            undo=cell(r.undo).replace("`", "'"),
            injected=fmt_time(r.injected_at),
            restored=fmt_time(r.restored_at),
            ok=("✅" if r.ok else "❌")
            + (" (after restart)" if r.after_restart else "")
            + (f" {md_text(r.error)}" if r.error else ""),
        )
        for r in v.restorations
    ]
    return "\n".join([texts.COMMENT_RESTORATIONS_HEADER, *rows])
