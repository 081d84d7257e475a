"""The "regressed" mark with its baseline, as the check runs, the PR comment and the JIRA comment show it."""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import ScenarioResult
from bot.regressions import worse_by
from bot.reporting.escape import jira_text, md_text
from bot.reporting.format import fmt_value
from bot.texts import history as texts


def regressions_markdown(scenarios: Sequence[ScenarioResult]) -> str | None:
    """A Markdown table of the regressions of `scenarios` (None when there is none)."""
    found = [(s, r) for s in scenarios for r in s.regressions]
    if not found:
        return None
    rows = [
        texts.REGRESSION_ROW.format(
            scenario=s.id.value,
            measurement=md_text(r.measurement),
            mark=texts.REGRESSED,
            value=fmt_value(r.value, "s"),
            baseline=fmt_value(r.baseline, "s"),
            worse=md_text(worse_by(r)),
        )
        for s, r in found
    ]
    return "\n".join([texts.REGRESSIONS_HEADER.format(runs=max(r.runs for _, r in found)), *rows])


def regressions_jira(scenarios: Sequence[ScenarioResult]) -> str | None:
    """The same as Jira wiki markup (None when there is none)."""
    rows = [
        texts.JIRA_REGRESSION_ROW.format(
            scenario=s.id.value,
            measurement=jira_text(r.measurement),
            mark=texts.REGRESSED,
            value=fmt_value(r.value, "s"),
            baseline=fmt_value(r.baseline, "s"),
            worse=jira_text(worse_by(r)),
        )
        for s in scenarios
        for r in s.regressions
    ]
    return "\n".join([texts.JIRA_REGRESSIONS_INTRO, *rows]) if rows else None
