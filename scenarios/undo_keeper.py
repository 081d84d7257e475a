"""Keeps trying every undo that failed, every `ssh.undo_retry_interval` seconds for as long as the bot runs, so a
host that was unreachable when its unit should have been started again is restored as soon as it answers.

Pending undos are the journal's rows not restored successfully, except those a running verification is still
carrying out. The engine refuses new verifications on their hosts meanwhile; `on_pending` hears the count by host
after every pass (the `verify_staging_undo_pending` gauge).
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from bot.model import Verification
from bot.ports import Clock, SSHPort
from scenarios.journal import JournalEntry, JournalStore, undo_once

log = structlog.get_logger(__name__)


class KeeperStore(JournalStore, Protocol):
    async def journal_pending(self) -> Sequence[JournalEntry]: ...

    async def load_verification(self, vid: str) -> Verification | None: ...

    async def save_verification(self, v: Verification) -> None: ...


def _nothing_live(verification_id: str) -> Verification | None:
    return None


def _ignore(counts: Mapping[str, int]) -> None:
    return None


async def _tell_nobody(verification: Verification) -> None:
    return None


async def _nobody_else() -> set[str]:
    return set()


@dataclass
class UndoKeeper:
    store: KeeperStore
    ssh: SSHPort
    clock: Clock
    interval: float
    command_timeout: float
    #: The verification by id while it runs in this process (its journal rows are its own business until it ends).
    live: Callable[[str], Verification | None] = _nothing_live
    on_pending: Callable[[Mapping[str, int]], None] = _ignore
    #: A finished verification whose restoration came late: the reporters show it again (check runs, PR comment).
    on_restored: Callable[[Verification], Awaitable[None]] = _tell_nobody
    #: Verifications another replica owns (issue 16): their journal rows are that replica's business while it lives.
    owned_elsewhere: Callable[[], Awaitable[set[str]]] = _nobody_else
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    async def pending(self) -> list[JournalEntry]:
        """Undos not carried out successfully that no running verification is about to carry out."""
        entries = await self.store.journal_pending()
        elsewhere = await self.owned_elsewhere() if entries else set()
        return [
            e
            for e in entries
            if (e.ok is False or self.live(e.verification_id) is None) and e.verification_id not in elsewhere
        ]

    async def retry_once(self) -> list[JournalEntry]:
        """One attempt at every pending undo; returns those still pending."""
        still: list[JournalEntry] = []
        for entry in await self.pending():
            ok, error = await undo_once(self.ssh, entry.host, entry.undo, timeout=self.command_timeout)
            await self.store.journal_mark_restored(entry.id, ok=ok, error=error)
            log.info("undo retried", host=entry.host, ok=ok, verification=entry.verification_id, error=error)
            if ok:
                await self._record_restored(entry)
            else:
                still.append(entry)
        self.report(still)
        return still

    def report(self, pending: Sequence[JournalEntry]) -> None:
        counts: dict[str, int] = {}
        for entry in pending:
            counts[entry.host] = counts.get(entry.host, 0) + 1
        self.on_pending(counts)

    async def run(self) -> None:
        """Retry pending undos every `interval` seconds until cancelled."""
        while True:
            try:
                await self.retry_once()
            except Exception:
                # The store or a port failed in a way nobody foresaw: keep the loop alive, try again next interval.
                log.exception("undo retry pass failed")
            await self.clock.sleep(self.interval)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="undo keeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _record_restored(self, entry: JournalEntry) -> None:
        """The verification's report shows the restoration done (in memory while it runs, else in the store)."""
        running = self.live(entry.verification_id)
        v = running or await self.store.load_verification(entry.verification_id)
        if v is None:
            return
        undo = shlex.join(entry.undo)
        for r in v.restorations:
            if r.host == entry.host and r.undo == undo and not r.ok:
                r.ok, r.error, r.restored_at = True, None, self.clock.now()
                break
        if running is None:
            await self.store.save_verification(v)
            # The verification's reports said "restoration failed"; the people who read them must learn it is not.
            await self.on_restored(v)
