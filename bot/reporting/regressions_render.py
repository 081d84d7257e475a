"""The "regressed" mark with its baseline, as the check runs, the PR comment and the JIRA comment show it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.model import ScenarioResult
from bot.regressions import worse_by
from bot.reporting.escape import jira_text, md_text
from bot.reporting.format import fmt_value
from bot.texts import history as texts


def regressions_markdown(scenarios: Sequence[ScenarioResult]) -> str | None:
    """A Markdown table of the regressions of `scenarios` (None when there is none)."""
    rows = _rows(scenarios, texts.REGRESSION_ROW, md_text)
    if not rows:
        return None
    runs = max(r.runs for s in scenarios for r in s.regressions)
    return "\n".join([texts.REGRESSIONS_HEADER.format(runs=runs), *rows])


def regressions_jira(scenarios: Sequence[ScenarioResult]) -> str | None:
    """The same as Jira wiki markup (None when there is none)."""
    rows = _rows(scenarios, texts.JIRA_REGRESSION_ROW, jira_text)
    return "\n".join([texts.JIRA_REGRESSIONS_INTRO, *rows]) if rows else None


def _rows(scenarios: Sequence[ScenarioResult], template: str, escape: Callable[[object], str]) -> list[str]:
    """One `template` line per regression; the measurement's name and the difference escaped with `escape`."""
    return [
        template.format(
            scenario=s.id.value,
            measurement=escape(r.measurement),
            mark=texts.REGRESSED,
            value=fmt_value(r.value, "s"),
            baseline=fmt_value(r.baseline, "s"),
            worse=escape(worse_by(r)),
        )
        for s in scenarios
        for r in s.regressions
    ]
