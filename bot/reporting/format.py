"""Small formatting helpers shared by every report: values with units, times, table cells, size limits."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.reporting.escape import jira_text
from bot.texts.reports import TRUNCATED_NOTE

#: GitHub's limit for a check run's output.summary / output.text and for an issue comment body.
GITHUB_FIELD_LIMIT = 65_535


def fmt_value(value: object, unit: str | None = None) -> str:
    """A measured or threshold value for a person: `12.3 s`, `yes`, `—` when unknown."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.1f}" if abs(value) >= 0.1 or value == 0 else f"{value:.3f}"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) or "none"
    else:
        text = str(value)
    return f"{text} {unit}" if unit else text


def fmt_time(ts: datetime | None) -> str:
    """UTC wall time with seconds, as GitHub shows it."""
    if ts is None:
        return "—"
    return ts.astimezone(UTC).strftime("%H:%M:%S")


def fmt_date(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def cell(text: object) -> str:
    """Make our own text safe inside one Markdown table cell (untrusted text: `escape.md_text`)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def jira_cell(text: object) -> str:
    """Make text safe inside one Jira wiki-markup table cell (pipes, braces, brackets and links are markup)."""
    return jira_text(text) or " "


def clip(text: str, limit: int = GITHUB_FIELD_LIMIT) -> str:
    """Cut text to `limit` characters, ending with a note that says how much was left out."""
    if len(text) <= limit:
        return text
    # The note's own length depends on the number it shows; size it with the worst case first.
    room = limit - len(TRUNCATED_NOTE.format(omitted=len(text)))
    kept = text[: max(0, room)]
    return kept + TRUNCATED_NOTE.format(omitted=len(text) - len(kept))


def clip_short(text: str, limit: int) -> str:
    """Cut a short label (action label, description, identifier) to `limit` characters."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
