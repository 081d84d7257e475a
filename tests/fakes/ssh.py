"""An SSH stand-in for unit tests (bot.ports.SSHPort): hosts with systemd units that `systemctl` starts and stops.

Only `[sudo] systemctl start|stop|restart|is-active UNIT` is understood (UNIT may be a glob, as systemctl allows);
anything else exits 127. Every command is logged in `calls`. `unreachable` hosts raise SSHError(kind=unreachable);
`on_change` callbacks hear every unit that started or stopped; `before` (async) runs before each command and may
raise, e.g. to simulate the bot being killed at that point.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.ports import CommandResult, SSHError


@dataclass
class FakeSSH:
    units: dict[str, dict[str, bool]] = field(default_factory=dict)  # host -> unit -> running
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    on_change: list[Callable[[str, str, bool], None]] = field(default_factory=list)
    before: Callable[[str, tuple[str, ...]], Awaitable[None]] | None = None

    def running(self, host: str, unit: str) -> bool:
        return self.units[host][unit]

    async def run(self, host: str, argv: Sequence[str], *, timeout: float | None = None) -> CommandResult:
        args = tuple(argv)
        if self.before is not None:
            await self.before(host, args)
        self.calls.append((host, args))
        if host in self.unreachable or host not in self.units:
            raise SSHError(f"{host}: connection refused", host=host, kind="unreachable")
        words = list(args[1:] if args[:1] == ("sudo",) else args)
        if len(words) != 3 or words[0] != "systemctl":
            return CommandResult(127, "", f"{words[0] if words else ''}: command not found")
        verb, pattern = words[1], words[2]
        matched = [u for u in self.units[host] if fnmatch.fnmatchcase(u, pattern)]
        if not matched:
            return CommandResult(5, "", f"Failed to {verb} {pattern}: Unit {pattern} not loaded.")
        if verb == "is-active":
            active = all(self.units[host][u] for u in matched)
            return CommandResult(0 if active else 3, "active\n" if active else "inactive\n", "")
        if verb not in ("start", "stop", "restart"):
            return CommandResult(1, "", f"Unknown command verb {verb}.")
        for unit in matched:
            self._set(host, unit, verb != "stop")
        return CommandResult(0, "", "")

    def _set(self, host: str, unit: str, running: bool) -> None:
        changed = self.units[host][unit] != running
        self.units[host][unit] = running
        if changed:
            for callback in list(self.on_change):
                callback(host, unit, running)
