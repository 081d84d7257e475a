"""Per-person cooldown for `/verify-staging` commands: a burst of comments costs at most one reply, not one
reaction, permission check and reply each (issue 12 §7).

A person's first command on a repository is handled; another within `seconds` is answered once with
`COMMAND_COOLDOWN`, and any further ones in that window get nothing. The window runs from the last handled command.
"""

from __future__ import annotations

from enum import Enum

from bot.ports import Clock

#: Past this many remembered people, the ones whose window has ended are forgotten (a flood of logins stays bounded).
MAX_REMEMBERED = 1000


class Admission(Enum):
    HANDLE = "handle"
    TELL = "tell"  # reply once that commands are cooling down
    QUIET = "quiet"


class CommandCooldown:
    """Decides, per (repository, person), whether a command is handled, answered once, or ignored."""

    def __init__(self, *, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._told: set[tuple[str, str]] = set()

    def admit(self, *, repository: str, user: str) -> Admission:
        key = (repository.lower(), user.lower())
        now = self._clock.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            if key in self._told:
                return Admission.QUIET
            self._told.add(key)
            return Admission.TELL
        self._last[key] = now
        self._told.discard(key)
        if len(self._last) > MAX_REMEMBERED:
            self._forget_before(now - self.seconds)
        return Admission.HANDLE

    def _forget_before(self, horizon: float) -> None:
        for key in [k for k, at in self._last.items() if at < horizon]:
            del self._last[key]
            self._told.discard(key)
