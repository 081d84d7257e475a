"""Reading a `/verify-staging` command out of a comment: a small pure parser (no shell, no eval, no regex on input).

`/verify-staging [scenario ...] [--dry-run]`, `/verify-staging help`, `/verify-staging status`,
`/verify-staging abort`. Anything else that starts with `/verify-staging` is answered with the help text.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    scenarios: tuple[ScenarioId, ...] = ()
    dry_run: bool = False
    problem: str | None = None  # why a malformed command fell back to help (shown to the user)


def command_line(body: str) -> str | None:
    """The first line of the comment that is a /verify-staging command (quoted lines start with `>`: ignored)."""
    for line in body.splitlines():
        words = line.strip().split()
        if words and words[0].lower() == COMMAND:
            return line.strip()
    return None


def parse_command(body: str) -> Command | None:
    """The command in a comment body, or None when the comment holds no /verify-staging line."""
    line = command_line(body)
    if line is None:
        return None
    words = line.split()[1:]
    if len(words) == 1 and words[0].lower() in ("help", "status", "abort"):
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
