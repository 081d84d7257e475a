"""The shared backend: a PostgreSQL connection pool (asyncpg), so several replicas of the bot keep one memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bot.database.base import Dialect, Listener, Params, Queries, Row, unavailable
from bot.database.dialect import ddl_for_postgres, numbered_placeholders
from bot.database.listener import PostgresListener

#: pg_advisory_xact_lock key that serializes migrations between replicas starting at once ("vsmigrat").
MIGRATION_LOCK = 0x76736D6967726174


class DatabaseUnavailable(OSError):
    """PostgreSQL could not be reached or refused the bot; the message names where, never the password."""


def _rowcount(status: str) -> int:
    """Rows changed, from the command tag ("INSERT 0 3", "UPDATE 2", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Statements:
    """Statements on the pool (each its own transaction) or on one connection inside a transaction."""

    def __init__(self, executor: Any) -> None:  # asyncpg.Pool or asyncpg.Connection: the same query methods
        self._executor = executor

    async def execute(self, sql: str, params: Params = ()) -> int:
        return _rowcount(str(await self._executor.execute(numbered_placeholders(sql), *params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._executor.executemany(numbered_placeholders(sql), [tuple(r) for r in rows])

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [tuple(record) for record in await self._executor.fetch(numbered_placeholders(sql), *params)]

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        record = await self._executor.fetchrow(numbered_placeholders(sql), *params)
        return None if record is None else tuple(record)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        return await self._executor.fetchval(numbered_placeholders(sql), *params)

    async def notify(self, channel: str, payload: str = "") -> None:
        # pg_notify, not NOTIFY: it takes the channel and payload as parameters. Sent at commit, not before.
        await self._executor.execute("SELECT pg_notify($1, $2)", channel, payload)


class PostgresDatabase(_Statements):
    """Statements outside a transaction autocommit on any pooled connection; a transaction holds one connection.
    Every commit is synced (PostgreSQL's default synchronous_commit=on), so `durable` asks for nothing more."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: Any, *, url: str) -> None:
        super().__init__(pool)
        self._pool = pool
        self._url = url

    @classmethod
    async def connect(cls, url: str, *, max_connections: int = 10) -> PostgresDatabase:
        # The URL may carry a password: it goes to the driver only, never into a message or log line.
        try:
            pool = await asyncpg.create_pool(dsn=url, min_size=1, max_size=max_connections)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(unavailable(url, exc)) from None
        return cls(pool, url=url)

    @property
    def pool(self) -> Any:
        """The asyncpg pool, for what only PostgreSQL has (LISTEN/NOTIFY, advisory locks held by one connection)."""
        return self._pool

    @asynccontextmanager
    async def transaction(self, *, durable: bool = False) -> AsyncIterator[Queries]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _Statements(conn)

    async def schema_version(self) -> int:
        exists = await self.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
        if not exists:
            return 0
        return int(await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version") or 0)

    async def migrate(self, migrations: Sequence[str]) -> None:
        """One transaction per pending migration, with its version row; replicas starting together wait for each
        other on an advisory lock, and each re-reads the version under it, so every script runs exactly once."""
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                version = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
                if version >= len(migrations):
                    return
                await conn.execute(ddl_for_postgres(migrations[version]))
                await conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                    version + 1,
                    datetime.now(UTC).isoformat(),
                )

    def listen(self, channel: str, *, ignore: str | None = None) -> Listener:
        """A connection of its own (bot/database/listener.py says why not one of the pool's)."""
        return PostgresListener(self._url, channel=channel, ignore=ignore)

    async def close(self) -> None:
        await self._pool.close()
