"""The bot's memory: webhook deliveries seen, verifications and what they saw, and the journal of undo actions.

One SQLite file (path from settings `database`), or a PostgreSQL database shared by several replicas (environment
`DATABASE_URL`), with versioned migrations, so a restart of the bot neither repeats a delivery nor forgets a fault
it injected. The SQL here is portable: `?` placeholders, `INSERT ... ON CONFLICT`, no rowid, no PRAGMA; the
backends (bot/database/) run it on either.
"""

from __future__ import annotations

from bot.database import Database, open_database
from bot.store.deliveries import DELIVERY_BATCH, Deliveries
from bot.store.history import History
from bot.store.journal import Journal, JournalEntry
from bot.store.migrations import MIGRATIONS
from bot.store.replicas import RELAY_CHANNEL, RelayedEvent, Replicas
from bot.store.schedule import Schedule, ScheduleRun
from bot.store.verifications import Verifications

__all__ = ["DELIVERY_BATCH", "MIGRATIONS", "RELAY_CHANNEL", "JournalEntry", "RelayedEvent", "ScheduleRun", "Store"]


class Store(Deliveries, Verifications, Journal, History, Schedule, Replicas):
    """Persistent state. Open with `await Store.open(location)`; close with `await store.close()`. Each part (one
    module of this package) holds the SQL of one concern; together they are the one interface the bot uses."""

    @classmethod
    async def open(cls, location: str) -> Store:
        """A `postgresql://` URL (settings: `Settings.store_location`) or the path of a SQLite file."""
        db = await open_database(location)
        try:
            await db.migrate(MIGRATIONS)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    @property
    def database(self) -> Database:
        """The backend, for tests and diagnostics; features add Store methods rather than SQL of their own."""
        return self._db

    async def close(self) -> None:
        await self._drain_deliveries()
        await self._db.close()

    async def schema_version(self) -> int:
        return await self._db.schema_version()
