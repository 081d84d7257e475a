"""The small SQL interface both backends implement (SQLite: bot/database/sqlite.py, PostgreSQL: postgres.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

#: One result row, columns in SELECT order. Values are str, int, float or None (portable columns only).
Row = tuple[Any, ...]
Params = Sequence[object]
Dialect = Literal["sqlite", "postgresql"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str) -> bool:
    return location.startswith(POSTGRES_SCHEMES)


class Queries(Protocol):
    """Statements with `?` placeholders; each call outside a transaction is its own (autocommitted) transaction."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row; None when there is no row."""
        ...


class Database(Queries, Protocol):
    dialect: Dialect

    def transaction(self, *, durable: bool = False) -> AbstractAsyncContextManager[Queries]:
        """Statements run through the yielded object commit together, or not at all (an exception rolls back).

        Nothing else in this process runs inside it. `durable`: the commit reaches the disk before the block
        exits, also on SQLite (where other commits only reach the OS, see bot/database/sqlite.py).
        """
        ...

    async def migrate(self, migrations: Sequence[str]) -> None:
        """Bring the schema to len(migrations): each pending script runs in one transaction with its version."""
        ...

    async def schema_version(self) -> int: ...

    async def close(self) -> None: ...


def url_secrets(url: str | None) -> list[str]:
    """What of a database URL must never reach a log line: the URL itself and its password."""
    if not url:
        return []
    password = urlsplit(url).password
    return [url, password] if password else [url]
