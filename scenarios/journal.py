"""The undo journal: every service the bot stops is written down with its undo before it is stopped.

`Journal.stopped()` expands a configured glob into the concrete units loaded on the host (refusing sshd, names that
look like options, and more units than `ssh.max_units_per_pattern`), writes one undo per unit to the store, stops
them, and starts them again when the block ends, whatever happens inside (failure, abort, cancellation). A start
counts only once `systemctl is-active` says the unit is active. If the bot dies in between, `recover()` finds the
entries at start-up; an undo that still fails is retried by the UndoKeeper. Commands come only from settings (host
and unit names), never from a comment.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.model import Restoration
from bot.ports import Clock, SSHError, SSHErrorKind, SSHPort
from bot.texts import safety as texts
from bot.unit_names import is_glob, parse_list_units, unit_name_problem


class JournalEntry(Protocol):
    """A journal row as bot/store/ returns it."""

    @property
    def id(self) -> int: ...

    @property
    def verification_id(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def fault(self) -> str: ...

    @property
    def undo(self) -> tuple[str, ...]: ...

    @property
    def injected_at(self) -> datetime | None: ...

    @property
    def ok(self) -> bool | None: ...

    @property
    def error(self) -> str | None: ...


class JournalStore(Protocol):
    """The part of bot/store/ the journal writes to."""

    async def journal_add(self, *, verification_id: str, host: str, fault: str, undo: list[str]) -> int: ...

    async def journal_mark_injected(self, entry_id: int) -> None: ...

    async def journal_mark_restored(
        self, entry_id: int, *, ok: bool, error: str | None = None, after_restart: bool = False
    ) -> None: ...


class InjectionError(Exception):
    """The harmful command itself failed (so nothing was harmed, but the scenario cannot go on)."""


def stop_argv(unit: str) -> list[str]:
    return ["sudo", "systemctl", "stop", unit]


def start_argv(unit: str) -> list[str]:
    return ["sudo", "systemctl", "start", unit]


def is_active_argv(unit: str) -> list[str]:
    return ["systemctl", "is-active", unit]


def list_units_argv(pattern: str) -> list[str]:
    return ["systemctl", "list-units", "--all", "--plain", "--no-legend", pattern]


def started_unit(undo: Sequence[str]) -> str | None:
    """The unit an undo starts (`[sudo] systemctl start UNIT`), whose state must then be confirmed."""
    words = list(undo)
    if words[:1] == ["sudo"]:
        words = words[1:]
    if len(words) == 3 and words[0] == "systemctl" and words[1] == "start":
        return words[2]
    return None


#: SSH failures that happen before a command is sent (a timeout may come after the command already ran).
NEVER_SENT = frozenset({SSHErrorKind.UNREACHABLE, SSHErrorKind.HOST_KEY, SSHErrorKind.AUTH})

#: An undo is retried this often before it is reported as failed (an SSH hiccup must not leave staging broken).
UNDO_ATTEMPTS = 3


@dataclass
class Journal:
    """Injects faults for one verification, with the undo recorded first and always carried out."""

    store: JournalStore
    ssh: SSHPort
    clock: Clock
    verification_id: str
    restorations: list[Restoration]
    command_timeout: float
    max_units: int = 5

    @asynccontextmanager
    async def stopped(self, *, host: str, unit: str) -> AsyncIterator[Restoration]:
        """Stop `unit` (a name or a glob) on `host` for the duration of the block; start it again afterwards, always.

        A glob stops every concrete unit it expands to, each journaled on its own; the restoration yielded is the
        last unit's, stopped when the whole fault is in place.
        """
        units = await self.expand(host, unit)
        async with AsyncExitStack() as stack:
            last: Restoration | None = None
            for name in units:
                last = await stack.enter_async_context(self._stopped_one(host=host, unit=name))
            assert last is not None
            yield last

    async def expand(self, host: str, pattern: str) -> list[str]:
        """The concrete units `pattern` names on `host` (systemctl list-units), each one allowed to be stopped."""
        problem = unit_name_problem(pattern)
        if problem is not None:
            raise InjectionError(f"`{pattern}` {problem}.")
        if not is_glob(pattern):
            return [pattern]
        argv = list_units_argv(pattern)
        result = await self.ssh.run(host, argv, timeout=self.command_timeout)
        if result.exit_status != 0:
            raise InjectionError(
                texts.PATTERN_EXPANSION_FAILED.format(
                    command=shlex.join(argv), host=host, status=result.exit_status, stderr=result.stderr.strip()[:200]
                )
            )
        units = list(dict.fromkeys(parse_list_units(result.stdout)))
        if not units:
            raise InjectionError(texts.PATTERN_MATCHED_NOTHING.format(pattern=pattern, host=host))
        for name in units:
            if unit_name_problem(name) is not None:
                raise InjectionError(texts.PATTERN_MATCHED_PROTECTED.format(pattern=pattern, unit=name, host=host))
        if len(units) > self.max_units:
            raise InjectionError(
                texts.PATTERN_MATCHED_TOO_MANY.format(
                    pattern=pattern, count=len(units), host=host, units=", ".join(units), maximum=self.max_units
                )
            )
        return units

    @asynccontextmanager
    async def _stopped_one(self, *, host: str, unit: str) -> AsyncIterator[Restoration]:
        fault, undo = stop_argv(unit), start_argv(unit)
        entry_id = await self.store.journal_add(
            verification_id=self.verification_id, host=host, fault=shlex.join(fault), undo=undo
        )
        restoration = Restoration(host=host, fault=shlex.join(fault), undo=shlex.join(undo))
        self.restorations.append(restoration)
        try:
            try:
                result = await self.ssh.run(host, fault, timeout=self.command_timeout)
            except SSHError as exc:
                if exc.kind in NEVER_SENT:
                    # No session was opened, so the stop never reached the host: there is nothing to undo.
                    self.restorations.remove(restoration)
                    await self.store.journal_mark_restored(entry_id, ok=True, error=f"not needed: {exc}")
                raise
            if result.exit_status != 0:
                raise InjectionError(f"`{shlex.join(fault)}` on {host} failed: {result.stderr.strip()[:200]}")
            restoration.injected_at = self.clock.now()
            await self.store.journal_mark_injected(entry_id)
            yield restoration
        finally:
            if restoration in self.restorations:
                # Shielded: a cancellation (shutdown, abort) must not interrupt the undo halfway.
                await asyncio.shield(self._undo(entry_id, host, undo, restoration))

    async def _undo(self, entry_id: int, host: str, undo: Sequence[str], restoration: Restoration) -> None:
        ok, error = await run_undo(self.ssh, self.clock, host, undo, timeout=self.command_timeout)
        restoration.ok, restoration.error, restoration.restored_at = ok, error, self.clock.now()
        await self.store.journal_mark_restored(entry_id, ok=ok, error=error)


async def run_undo(
    ssh: SSHPort, clock: Clock, host: str, undo: Sequence[str], *, timeout: float, attempts: int = UNDO_ATTEMPTS
) -> tuple[bool, str | None]:
    """Carry out an undo command with a few retries; (ok, error message)."""
    error: str | None = None
    for attempt in range(attempts):
        if attempt:
            await clock.sleep(2.0 * attempt)
        ok, error = await undo_once(ssh, host, undo, timeout=timeout)
        if ok:
            return True, None
    return False, error


async def undo_once(ssh: SSHPort, host: str, undo: Sequence[str], *, timeout: float) -> tuple[bool, str | None]:
    """One undo attempt on a new connection, confirmed with `systemctl is-active`: systemctl exits 0 for a glob
    that matched nothing, and a unit whose process dies at once was still "started"."""
    command = shlex.join(undo)
    unit = started_unit(undo)
    try:
        result = await ssh.run(host, undo, timeout=timeout, fresh=True)
        if result.exit_status != 0:
            stderr = result.stderr.strip()[:200]
            return False, texts.UNDO_EXITED.format(command=command, host=host, status=result.exit_status, stderr=stderr)
        if unit is None:
            return True, None
        check = await ssh.run(host, is_active_argv(unit), timeout=timeout)
    except SSHError as exc:
        return False, str(exc)
    state = check.stdout.strip() or "unknown"
    if check.exit_status != 0 or state != "active":
        return False, texts.UNDO_NOT_ACTIVE.format(command=command, host=host, unit=unit, state=state)
    return True, None
