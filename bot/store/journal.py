"""The undo journal: each fault the bot injects, written down (durably) before it is injected, until it is undone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.store.tables import Tables, now, ts


@dataclass(frozen=True)
class JournalEntry:
    """One fault the bot injected (or was about to), and the argv-joined commands that undo it."""

    id: int
    verification_id: str
    host: str
    fault: str
    undo: tuple[str, ...]
    created_at: datetime
    injected_at: datetime | None
    restored_at: datetime | None
    ok: bool | None
    error: str | None
    after_restart: bool = False


class Journal(Tables):
    """The undo journal's rows."""

    async def _durable(self, sql: str, parameters: tuple[object, ...]) -> object:
        """One write on the disk before it returns (the journal must outlive a power cut); its first returned value."""
        async with self._db.transaction(durable=True) as tx:
            return await tx.fetchval(sql, parameters)

    async def journal_add(self, *, verification_id: str, host: str, fault: str, undo: list[str]) -> int:
        """Write the undo action BEFORE the fault is injected, durably; returns the entry id."""
        entry_id = await self._durable(
            "INSERT INTO journal (verification_id, host, fault, undo, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (verification_id, host, fault, json.dumps(list(undo)), now()),
        )
        assert isinstance(entry_id, int)
        return entry_id

    async def journal_mark_injected(self, entry_id: int) -> None:
        await self._durable("UPDATE journal SET injected_at = ? WHERE id = ?", (now(), entry_id))

    async def journal_mark_restored(
        self, entry_id: int, *, ok: bool, error: str | None = None, after_restart: bool = False
    ) -> None:
        await self._durable(
            "UPDATE journal SET restored_at = ?, ok = ?, error = ?, after_restart = ? WHERE id = ?",
            (now(), int(ok), error, int(after_restart), entry_id),
        )

    async def journal_pending(self) -> list[JournalEntry]:
        """Entries written but not yet restored successfully, in insertion order."""
        rows = await self._db.fetchall(
            "SELECT id, verification_id, host, fault, undo, created_at, injected_at, restored_at, ok, error,"
            " after_restart FROM journal WHERE ok IS NULL OR ok = 0 ORDER BY id"
        )
        return [
            JournalEntry(
                id=int(r[0]),
                verification_id=str(r[1]),
                host=str(r[2]),
                fault=str(r[3]),
                undo=tuple(str(u) for u in json.loads(r[4])),
                created_at=datetime.fromisoformat(r[5]),
                injected_at=ts(r[6]),
                restored_at=ts(r[7]),
                ok=None if r[8] is None else bool(r[8]),
                error=r[9],
                after_restart=bool(r[10]),
            )
            for r in rows
        ]
