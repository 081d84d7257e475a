"""JIRA comment bodies in Jira wiki markup: the start note and the results table (linking the attached files)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.github.models import branch_name
from bot.model import Criterion, ScenarioConclusion, ScenarioStatus, Trigger, Verification
from bot.reporting.comment_render import test_number
from bot.reporting.escape import jira_text
from bot.reporting.format import fmt_value, jira_cell
from bot.reporting.regressions_render import regressions_jira
from bot.texts import reports as texts
from bot.texts import schedule as schedule_texts


def started_comment(v: Verification) -> str:
    if v.trigger is Trigger.SCHEDULE:
        return schedule_texts.JIRA_STARTED.format(
            environment=v.environment,
            verification_id=v.verification_id,
            repository=jira_text(v.repository),
            ref=jira_text(branch_name(v.ref)),
            sha=v.head_sha[:7],
            scenarios=", ".join(s.id.value for s in v.scenarios),
        )
    text = texts.JIRA_STARTED.format(
        environment=v.environment,
        verification_id=v.verification_id,
        repository=jira_text(v.repository),
        pull_request=v.pull_request,
        sha=v.head_sha[:7],
        requested_by=jira_text(v.requested_by),
        scenarios=", ".join(s.id.value for s in v.scenarios),
    )
    if v.title:
        text += texts.JIRA_STARTED_PULL.format(title=jira_text(v.title), ref=jira_text(branch_name(v.ref)))
    return text


def results_table(v: Verification) -> str:
    rows = [texts.JIRA_TABLE_HEADER]
    for s in v.scenarios:
        verdict = texts.SCENARIO_VERDICT[s.conclusion if s.status is ScenarioStatus.COMPLETED else None]
        criteria: list[Criterion | None] = list(s.criteria) or [None]
        for c in criteria:
            rows.append(
                texts.JIRA_TABLE_ROW.format(
                    n=test_number(s),
                    title=jira_cell(s.title),
                    verdict=verdict,
                    criterion=jira_cell(c.description if c else "—"),
                    observed=jira_cell(fmt_value(c.observed, c.unit) if c else "—"),
                    threshold=jira_cell(fmt_value(c.threshold, c.unit) if c else "—"),
                )
            )
    return "\n".join(rows)


def finished_comment(v: Verification, *, pull_request_url: str, attachments: Sequence[str] = ()) -> str:
    """The results comment; `attachments` are linked (`[^name]` opens the issue's attachment of that name)."""
    conclusion = v.conclusion or v.decide_conclusion()
    scheduled = v.trigger is Trigger.SCHEDULE
    parts = [
        texts.JIRA_FINISHED.format(
            environment=v.environment, verification_id=v.verification_id, verdict=conclusion.value.upper()
        ),
        results_table(v),
    ]
    failed = [s for s in v.scenarios if s.conclusion is not ScenarioConclusion.PASSED]
    if failed or conclusion.value != "success":
        lines = [texts.JIRA_FAILED_INTRO]
        for s in failed:
            reason = s.reason or "; ".join(
                f"{c.description.rstrip('.')}: observed {fmt_value(c.observed, c.unit)}, "
                f"threshold {fmt_value(c.threshold, c.unit)}"
                for c in s.failed_criteria()
            )
            lines.append(texts.JIRA_FAILED_ROW.format(scenario=s.id.value, reason=jira_text(reason or "not concluded")))
        if v.reason:
            lines.append(texts.JIRA_FAILED_ROW.format(scenario="verification", reason=jira_text(v.reason)))
        parts.append("\n".join(lines))
    else:
        parts.append(schedule_texts.JIRA_ALL_PASSED if scheduled else texts.JIRA_ALL_PASSED)
    regressions = regressions_jira(v.scenarios)
    if regressions:
        parts.append(regressions)
    if attachments:
        parts.append(texts.JIRA_ATTACHMENTS.format(links=", ".join(f"[^{name}]" for name in attachments)))
    parts.append((schedule_texts.JIRA_LINK if scheduled else texts.JIRA_LINK).format(url=pull_request_url))
    return "\n\n".join(parts)
