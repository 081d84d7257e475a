"""The embedded backend: one SQLite file in WAL mode, written through one aiosqlite connection (one process)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.database.base import Dialect, Params, Queries, Row

#: How long a statement waits for another process's lock on the file.
BUSY_TIMEOUT_MS = 5000


async def _into_wal(conn: aiosqlite.Connection) -> None:
    """Put the file in WAL mode (it stays so: later opens find it set). Switching takes an exclusive lock, and SQLite
    does not wait for it while another connection is writing (it answers "database is locked" at once, as waiting
    could deadlock): replicas opening a new file together, one of them migrating, retry until the writer is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() >= deadline:
                raise
        await asyncio.sleep(0.02)  # SQLite gives no signal when the writer commits: asking again is the only way


class _Statements:
    """Runs statements on the connection as they come (the caller holds the lock)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._conn.execute(sql, params) as cur:
            return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._conn.execute(sql, params) as cur:
            return [tuple(row) for row in await cur.fetchall()]

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetchall(sql, params)  # all rows: an INSERT ... RETURNING completes only when stepped out
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return row[0] if row else None

    async def notify(self, channel: str, payload: str = "") -> None:
        """Nothing: no SQLite connection can listen (`SqliteDatabase.listen`)."""


def _split(script: str) -> list[str]:
    """The statements of a script (executescript would commit the transaction the migration runs in)."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):  # a ';' inside a literal leaves the statement incomplete
            if pending.strip(" \n\t;"):
                statements.append(pending.strip())
            pending = ""
    return statements


class SqliteDatabase:
    """Every statement and transaction takes one lock, so a transaction's BEGIN ... COMMIT never has another
    task's statement inside it (they share the connection). Keep transactions short: they hold up every other."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._statements = _Statements(conn)
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None

    @classmethod
    async def connect(cls, path: str) -> SqliteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            await _into_wal(conn)
            # NORMAL: in WAL mode a commit no longer waits for the disk; a crash of the bot loses nothing, a power
            # cut may lose the last commits (SQLite: "Atomic Commit", "WAL"). Syncing each delivery's commit made
            # one acknowledgement in a hundred wait 20-150 ms on a virtual disk at 200 deliveries/s. What must
            # outlive a power cut too (the undo journal) commits in a durable transaction (synchronous=FULL).
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            await conn.close()
            raise
        return cls(conn)

    @property
    def connection(self) -> aiosqlite.Connection:
        """The aiosqlite connection itself (tests trace its statements)."""
        return self._conn

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[_Statements]:
        if self._owner is not None and self._owner is asyncio.current_task():
            # Waiting for our own lock would hang forever: the statement belongs on the transaction's object.
            raise RuntimeError("a statement inside a transaction must run through the transaction's object")
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                yield self._statements
            finally:
                self._owner = None

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._locked() as statements:
            return await statements.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._locked() as statements:
            await statements.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._locked() as statements:
            return await statements.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._locked() as statements:
            return await statements.fetchone(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        async with self._locked() as statements:
            return await statements.fetchval(sql, params)

    @asynccontextmanager
    async def transaction(self, *, durable: bool = False) -> AsyncIterator[Queries]:
        async with self._locked() as statements:
            if durable:
                await self._conn.execute("PRAGMA synchronous=FULL")
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield statements
                except BaseException:
                    await self._conn.execute("ROLLBACK")
                    raise
                await self._conn.execute("COMMIT")
            finally:
                if durable:
                    await self._conn.execute("PRAGMA synchronous=NORMAL")

    async def notify(self, channel: str, payload: str = "") -> None:
        """Nothing: no SQLite connection can listen (`listen`)."""

    def listen(self, channel: str, *, ignore: str | None = None) -> None:
        """None: SQLite has no notifications; other processes on the file are read by polling."""
        return None

    async def schema_version(self) -> int:
        async with self._locked() as statements:
            return int(await statements.fetchval("PRAGMA user_version") or 0)

    async def migrate(self, migrations: Sequence[str]) -> None:
        async with self._locked():
            # IMMEDIATE: another process migrating the same file finishes first (busy_timeout), then the version is
            # read again, so each script runs once. The version lives in the file's header (PRAGMA user_version)
            # and commits with the scripts.
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                async with self._conn.execute("PRAGMA user_version") as cur:
                    row = await cur.fetchone()
                version = int(row[0]) if row else 0
                for target, script in enumerate(migrations[version:], start=version + 1):
                    for statement in _split(script):
                        await self._conn.execute(statement)
                    await self._conn.execute(f"PRAGMA user_version = {target}")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def close(self) -> None:
        await self._conn.close()
