"""Where the bot's memory lives: one small SQL interface over an embedded SQLite file or a shared PostgreSQL.

`open_database(location)` picks the backend: a `postgresql://` (or `postgres://`) URL opens a connection pool on
PostgreSQL (several replicas share it), anything else is the path of a SQLite file (one process). Callers write
portable SQL with `?` placeholders; the PostgreSQL backend numbers them (`$1..$n`). Migrations are plain portable
DDL; `migrate` records the schema version the backend's own way and translates the few DDL words that differ
(bot/database/dialect.py).

Only PostgreSQL wakes other processes: `notify` in a transaction reaches each `listen`er on the channel at commit
(bot/database/listener.py); on SQLite `notify` does nothing and `listen` is None, so readers there poll.

SQL that runs on both: TEXT / INTEGER / REAL columns and explicit primary keys (INTEGER PRIMARY KEY AUTOINCREMENT
for a generated id, read back with `INSERT ... RETURNING id`); timestamps as UTC ISO text; `INSERT ... ON CONFLICT
(...) DO NOTHING / DO UPDATE ... [WHERE ...]` and `RETURNING`; no rowid, PRAGMA, `INSERT OR ...`, COLLATE NOCASE
(use lower()), SELECT ... FOR UPDATE, or SQLite's loose typing (PostgreSQL refuses an int for a TEXT column).
"""

from __future__ import annotations

from bot.database.base import (
    POSTGRES_SCHEMES,
    Database,
    Dialect,
    Listener,
    Params,
    Queries,
    Row,
    is_postgres_url,
)
from bot.database.sqlite import SqliteDatabase

__all__ = [
    "POSTGRES_SCHEMES",
    "Database",
    "Dialect",
    "Listener",
    "Params",
    "Queries",
    "Row",
    "is_postgres_url",
    "open_database",
]


async def open_database(location: str) -> Database:
    """A PostgreSQL pool for a postgresql:// URL, else the SQLite file at `location` (or ":memory:")."""
    if is_postgres_url(location):
        # Imported here: asyncpg takes 0.1-0.3 s to import, which a bot on SQLite should not pay at every start.
        from bot.database.postgres import PostgresDatabase

        return await PostgresDatabase.connect(location)
    return await SqliteDatabase.connect(location)
