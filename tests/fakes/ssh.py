"""An SSH stand-in for unit tests (bot.ports.SSHPort): hosts with systemd units that `systemctl` starts and stops.

Understood, the way systemd answers them: `[sudo] systemctl start|stop|restart|is-active UNIT` and
`systemctl list-units --all --plain --no-legend PATTERN`. A glob matches loaded units only (the host's table) and a
glob matching nothing is silently nothing (exit 0); an exact name that is not loaded exits 5. Anything else exits
127. Every command is logged in `calls` (and in `fresh_calls` when the caller asked for a new connection).
`unreachable` hosts raise SSHError(kind=unreachable); units in `dies_on_start` exit 0 on start but never become
active (a unit whose process crashes at once); `on_change` callbacks hear every unit that started or stopped;
`before` (async) runs before each command and may raise, e.g. to simulate the bot being killed at that point.
`sudo -n` and `systemctl status` are understood too (exit 0 active, 3 inactive, 4 no such unit); on the hosts in
`sudo_password` sudo -n refuses as sudo does when the sudoers rule wants a password.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.ports import CommandResult, SSHError, SSHErrorKind

_LIST_UNITS_OPTIONS = ("--all", "--plain", "--no-legend")


@dataclass
class FakeSSH:
    units: dict[str, dict[str, bool]] = field(default_factory=dict)  # host -> unit -> running
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    fresh_calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    dies_on_start: set[tuple[str, str]] = field(default_factory=set)  # (host, unit)
    on_change: list[Callable[[str, str, bool], None]] = field(default_factory=list)
    before: Callable[[str, tuple[str, ...]], Awaitable[None]] | None = None
    sudo_password: set[str] = field(default_factory=set)  # hosts where sudo wants a password

    def running(self, host: str, unit: str) -> bool:
        return self.units[host][unit]

    async def run(
        self, host: str, argv: Sequence[str], *, timeout: float | None = None, fresh: bool = False
    ) -> CommandResult:
        args = tuple(argv)
        if self.before is not None:
            await self.before(host, args)
        self.calls.append((host, args))
        if fresh:
            self.fresh_calls.append((host, args))
        if host in self.unreachable or host not in self.units:
            raise SSHError(f"{host}: connection refused", host=host, kind=SSHErrorKind.UNREACHABLE)
        if args[:2] == ("sudo", "-n") and host in self.sudo_password:
            return CommandResult(1, "", "sudo: a password is required\n")
        words = list(args[2:] if args[:2] == ("sudo", "-n") else args[1:] if args[:1] == ("sudo",) else args)
        if len(words) < 3 or words[0] != "systemctl":
            return CommandResult(127, "", f"{words[0] if words else ''}: command not found")
        verb, options, pattern = words[1], words[2:-1], words[-1]
        if verb == "list-units" and all(o in _LIST_UNITS_OPTIONS for o in options):
            lines = [
                f"{u} loaded {'active running' if up else 'inactive dead'} {u}\n"
                for u, up in self.units[host].items()
                if fnmatch.fnmatchcase(u, pattern)
            ]
            return CommandResult(0, "".join(lines), "")
        if options:
            return CommandResult(1, "", f"systemctl: unsupported arguments: {' '.join(words[1:])}")
        globbed = any(c in pattern for c in "*?[")
        matched = [u for u in self.units[host] if fnmatch.fnmatchcase(u, pattern)]
        if verb == "is-active":
            active = bool(matched) and all(self.units[host][u] for u in matched)
            return CommandResult(0 if active else 3, "active\n" if active else "inactive\n", "")
        if verb == "status":
            if not matched:
                return CommandResult(3 if globbed else 4, "", "" if globbed else f"Unit {pattern} could not be found.")
            active = all(self.units[host][u] for u in matched)
            return CommandResult(0 if active else 3, "".join(f"● {u}\n" for u in matched), "")
        if verb not in ("start", "stop", "restart"):
            return CommandResult(1, "", f"Unknown command verb {verb}.")
        if not matched and not globbed:
            return CommandResult(5, "", f"Failed to {verb} {pattern}: Unit {pattern} not loaded.")
        for unit in matched:
            up = verb != "stop" and (host, unit) not in self.dies_on_start
            self._set(host, unit, up)
        return CommandResult(0, "", "")

    def _set(self, host: str, unit: str, running: bool) -> None:
        changed = self.units[host][unit] != running
        self.units[host][unit] = running
        if changed:
            for callback in list(self.on_change):
                callback(host, unit, running)
