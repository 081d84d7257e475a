"""The deliveries the bot has accepted (GitHub's GUIDs), so a redelivered or repeated webhook is processed once."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime

from bot.database import Database
from bot.store.tables import Tables, now

#: Deliveries committed in one INSERT at most (5 bound values each; SQLite allows 32,766 per statement).
DELIVERY_BATCH = 500


def _insert_deliveries(count: int) -> str:
    """One INSERT for `count` deliveries; it returns the ids that were new (placeholders only: values are bound)."""
    values = ", ".join(["(?, ?, ?, ?, ?)"] * count)
    columns = "delivery_id, event, action, installation_id, received_at"
    return (
        f"INSERT INTO deliveries ({columns}) VALUES {values}"  # noqa: S608
        " ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id"
    )


class Deliveries(Tables):
    """Accepted deliveries, written in groups (one commit for all that arrive during the previous one)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._pending_deliveries: list[tuple[tuple[str, str, str | None, int | None, str], asyncio.Future[bool]]] = []
        self._delivery_writer: asyncio.Task[None] | None = None

    async def _drain_deliveries(self) -> None:
        """Wait for the deliveries being written (before the backend closes)."""
        if self._delivery_writer is not None:
            await asyncio.gather(self._delivery_writer, return_exceptions=True)

    async def record_delivery(
        self,
        *,
        delivery_id: str,
        event: str,
        action: str | None,
        installation_id: int | None,
        received_at: datetime | None = None,
    ) -> bool:
        """Remember a delivery; False when this delivery id was seen before (a redelivery keeps its id).

        Deliveries that arrive while an insert is being committed are committed together in the next one (group
        commit): each commit waits for the disk, so one commit per delivery would cap ingest at the disk's rate.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        received = received_at.astimezone(UTC).isoformat() if received_at is not None else now()
        self._pending_deliveries.append(((delivery_id, event, action, installation_id, received), future))
        if self._delivery_writer is None or self._delivery_writer.done():
            self._delivery_writer = asyncio.create_task(self._write_deliveries())
        return await future

    async def _write_deliveries(self) -> None:
        while self._pending_deliveries:
            batch = self._pending_deliveries[:DELIVERY_BATCH]
            del self._pending_deliveries[:DELIVERY_BATCH]
            rows = list({row[0]: row for row, _ in reversed(batch)}.values())  # first of a repeated id wins
            try:
                # One statement is one transaction; ON CONFLICT ... RETURNING names only the rows this statement
                # inserted, so of several replicas receiving the same GUID exactly one is told it is fresh.
                inserted = await self._db.fetchall(
                    _insert_deliveries(len(rows)), [value for row in rows for value in row]
                )
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            fresh = {str(r[0]) for r in inserted}
            for row, future in batch:
                is_fresh = row[0] in fresh
                fresh.discard(row[0])  # a repeat within the batch is a duplicate of the first
                if not future.done():
                    future.set_result(is_fresh)

    async def forget_delivery(self, delivery_id: str) -> None:
        """Forget a recorded delivery that was never processed, so its redelivery is (the bot is shutting down);
        remembered as released, so the redelivery sweep asks for it although GitHub saw it acknowledged."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM deliveries WHERE delivery_id = ?", (delivery_id,))
            await tx.execute(
                "INSERT INTO released_deliveries (delivery_id, released_at) VALUES (?, ?)"
                " ON CONFLICT (delivery_id) DO UPDATE SET released_at = excluded.released_at",
                (delivery_id, now()),
            )

    async def prune_deliveries(self, *, older_than: datetime) -> int:
        """Forget deliveries received before `older_than` (GitHub redelivers only recent ones); how many went."""
        # received_at is written by now() as UTC isoformat, so the text order is the time order.
        cutoff = older_than.astimezone(UTC).isoformat()
        pruned = await self._db.execute("DELETE FROM deliveries WHERE received_at < ?", (cutoff,))
        await self._db.execute("DELETE FROM released_deliveries WHERE released_at < ?", (cutoff,))
        return pruned

    async def delivery_count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM deliveries"))

    async def known_deliveries(self, delivery_ids: Collection[str]) -> set[str]:
        """Which of these delivery ids (GUIDs) the bot has accepted, including those still being written."""
        ids = list(dict.fromkeys(delivery_ids))
        pending = {row[0] for row, _ in self._pending_deliveries} & set(ids)
        return pending | await self._present("deliveries", ids)

    async def released_deliveries(self, delivery_ids: Collection[str]) -> set[str]:
        """Which of these delivery ids were acknowledged but given back unprocessed at a shutdown."""
        return await self._present("released_deliveries", list(dict.fromkeys(delivery_ids)))

    async def _present(self, table: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):  # SQLite binds at most 999 parameters by default
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT delivery_id FROM {table} WHERE delivery_id IN ({marks})"  # noqa: S608 (table: ours)
            found |= {str(row[0]) for row in await self._db.fetchall(sql, chunk)}
        return found
