"""The undo journal: every service the bot stops is written down with its undo before it is stopped.

`Journal.stopped()` writes the undo to the store, stops the service, and starts it again when the block ends,
whatever happens inside (failure, abort, cancellation). If the bot dies in between, `recover()` finds the entry
at start-up and carries out the undo. Commands come only from settings (host and unit names), never from a comment.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.model import Restoration
from bot.ports import Clock, SSHError, SSHPort


class JournalEntry(Protocol):
    """A journal row as bot/store.py returns it."""

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


class JournalStore(Protocol):
    """The part of bot/store.py the journal writes to."""

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


#: SSH failures that happen before a command is sent (a timeout may come after the command already ran).
NEVER_SENT = frozenset({"unreachable", "host-key", "auth"})

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

    @asynccontextmanager
    async def stopped(self, *, host: str, unit: str) -> AsyncIterator[Restoration]:
        """Stop `unit` on `host` for the duration of the block; start it again afterwards, always."""
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
    ssh: SSHPort, clock: Clock, host: str, undo: Sequence[str], *, timeout: float
) -> tuple[bool, str | None]:
    """Carry out an undo command with a few retries; (ok, error message)."""
    error: str | None = None
    for attempt in range(UNDO_ATTEMPTS):
        if attempt:
            await clock.sleep(2.0 * attempt)
        try:
            result = await ssh.run(host, undo, timeout=timeout)
        except SSHError as exc:
            error = str(exc)
            continue
        if result.exit_status == 0:
            return True, None
        error = f"`{shlex.join(undo)}` on {host} exited {result.exit_status}: {result.stderr.strip()[:200]}"
    return False, error
