"""Reading a `/verify-staging` command out of a comment: a small pure parser (no shell, no eval, no regex on input).

`/verify-staging [scenario ...] [--dry-run]`, `/verify-staging help`, `/verify-staging status`,
`/verify-staging abort`, `/verify-staging history`. Anything else that starts with `/verify-staging` is answered
with the help text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from bot.model import SCENARIO_ORDER, ScenarioId

COMMAND = "/verify-staging"
_SCENARIO_IDS = {s.value: s for s in ScenarioId}


class CommandKind(StrEnum):
    RUN = "run"
    HELP = "help"
    STATUS = "status"
    ABORT = "abort"
    HISTORY = "history"


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    scenarios: tuple[ScenarioId, ...] = ()
    dry_run: bool = False
    problem: str | None = None  # why a malformed command fell back to help (shown to the user)


#: An opening or closing code fence: up to 3 spaces, then 3+ backticks or tildes (CommonMark 4.5).
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
#: An HTML block of type 2 (CommonMark 4.6) starts with `<!--` and ends on the line holding `-->`.
_HTML_COMMENT = re.compile(r"^ {0,3}<!--")
_QUOTE = re.compile(r"^ {0,3}>")
_INDENTED_CODE = re.compile(r"^( {4}| {0,3}\t)")


@dataclass(frozen=True)
class CommandLine:
    """A command found in a comment: its line, and the comment's lines after it."""

    line: str
    rest: tuple[str, ...]


def live_lines(body: str) -> Iterator[tuple[int, str]]:
    """(index, line) for each line a reader sees as the comment's own text.

    Lines inside fenced or indented code, HTML comments and quotes (`>`) are shown to nobody as a request (or
    not shown at all), so a command there is an example, a quote of someone else, or hidden: never a command.
    """
    fence: str | None = None
    in_comment = False
    for index, line in enumerate(body.splitlines()):
        if fence is not None:
            close = _FENCE.match(line)
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= len(fence):
                fence = None if not close.group(2).strip() else fence
            continue
        if in_comment or _HTML_COMMENT.match(line):
            in_comment = "-->" not in (line if in_comment else line.split("<!--", 1)[1])
            continue
        if _QUOTE.match(line) or _INDENTED_CODE.match(line):
            continue
        opening = _FENCE.match(line)
        # A backtick fence's info string cannot hold a backtick (then the line is inline code, not a fence).
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence = opening.group(1)
            continue
        yield index, line


def find_command(body: str, command: str, *, case_sensitive: bool = False) -> CommandLine | None:
    """The first line a reader sees that starts with `command`, with the lines after it."""
    lines = body.splitlines()
    for index, line in live_lines(body):
        words = line.split()
        first = words[0] if words and case_sensitive else (words[0].lower() if words else "")
        if first == command:
            return CommandLine(line=line.strip(), rest=tuple(lines[index + 1 :]))
    return None


def command_line(body: str) -> str | None:
    """The first line of the comment that is a /verify-staging command (not in code, a quote or an HTML comment)."""
    found = find_command(body, COMMAND)
    return found.line if found else None


def parse_command(body: str) -> Command | None:
    """The command in a comment body, or None when the comment holds no /verify-staging line."""
    line = command_line(body)
    if line is None:
        return None
    words = line.split()[1:]
    if len(words) == 1 and words[0].lower() in ("help", "status", "abort", "history"):
        return Command(CommandKind(words[0].lower()))
    chosen: set[ScenarioId] = set()
    dry_run = False
    for word in words:
        lowered = word.lower()
        if lowered == "--dry-run":
            dry_run = True
        elif lowered == "all":
            chosen.update(SCENARIO_ORDER)
        elif lowered in _SCENARIO_IDS:
            chosen.add(_SCENARIO_IDS[lowered])
        else:
            return Command(CommandKind.HELP, problem=_shorten(word))
    scenarios = tuple(s for s in SCENARIO_ORDER if s in chosen) if chosen else SCENARIO_ORDER
    return Command(CommandKind.RUN, scenarios=scenarios, dry_run=dry_run)


def _shorten(word: str) -> str:
    # The word is echoed back in a reply: keep it short and free of markdown that could break the code span.
    cleaned = "".join(ch for ch in word if ch.isprintable() and ch != "`")
    return cleaned if len(cleaned) <= 40 else cleaned[:37] + "..."
