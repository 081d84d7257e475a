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

    async def notify(self, channel: str, payload: str = "") -> None:
        """Wake the database's listeners on `channel` (`Database.listen`) once this commits; nothing on SQLite,
        which has no listeners. `payload`: short, never data (PostgreSQL limits it to 8000 bytes)."""
        ...


class Listener(Protocol):
    """Notifications on one channel, sent by any connection to the same database (PostgreSQL's LISTEN)."""

    @property
    def connection_id(self) -> int | None:
        """The server process of the listening connection (PostgreSQL's backend pid); None while it reconnects."""
        ...

    async def wait(self, seconds: float) -> None:
        """Return as soon as a notification arrived since the last return (at once if one did), or after `seconds`.
        Also returns after a reconnection: what was sent while no one listened is to be read now."""
        ...

    async def close(self) -> None: ...


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

    def listen(self, channel: str, *, ignore: str | None = None) -> Listener | None:
        """Notifications on `channel` (those whose payload is `ignore` excepted) on a connection of their own, kept
        up until `close`; None where the backend has none (SQLite: one process, nothing to wake)."""
        ...

    async def close(self) -> None: ...


def unavailable(url: str, exc: BaseException) -> str:
    """Why the PostgreSQL database at `url` cannot be used, naming where but never the password."""
    where = database_where(url)
    reason = str(exc) or type(exc).__name__
    for secret in url_secrets(url):
        reason = reason.replace(secret, "[redacted]")
    return f"the PostgreSQL database of DATABASE_URL ({where}) is unavailable: {reason}"


def database_where(url: str) -> str:
    """Host, port and database of a PostgreSQL URL (`db.example:5432/verify_staging`): never its user or password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


def url_secrets(url: str | None) -> list[str]:
    """What of a database URL must never reach a log line: the URL itself and its password."""
    if not url:
        return []
    password = urlsplit(url).password
    return [url, password] if password else [url]
