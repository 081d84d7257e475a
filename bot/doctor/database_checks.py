"""The doctor's store checks: the SQLite file or PostgreSQL database answers, it holds a schema this verify-staging
can run on, and on PostgreSQL replicas wake each other through LISTEN/NOTIFY. Read-only: nothing is created or
migrated (that is `serve`'s first start)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.database import is_postgres_url
from bot.doctor.result import CheckResult, ok, problem
from bot.relay import NOTIFIED_POLL_SECONDS
from bot.store.migrations import MIGRATIONS
from bot.texts import doctor as texts


class StoreUnreachable(Exception):
    """The store cannot be used as it is; the message says why and how to mend it, never with a password."""


@dataclass(frozen=True)
class StoreAnswer:
    """`detail`: what was found usable; `schema`: the version the store holds, None when nothing is there yet."""

    detail: str
    schema: int | None


class StoreProbe(Protocol):
    """Read-only questions to the store of `Settings.store_location` (bot/doctor/sqlite_probe.py, postgres_probe.py;
    the tests' fakes)."""

    @property
    def where(self) -> str:
        """The location as a line may name it: a SQLite path, or PostgreSQL's host, port and database."""
        ...

    async def answer(self) -> StoreAnswer:
        """Reach the store and read its schema version; StoreUnreachable when it cannot be used."""
        ...

    async def notifications(self) -> bool | None:
        """Whether a notification sent on one connection reached another listening one (a round trip); None where
        the backend has none (SQLite: one process); StoreUnreachable when a connection fails."""
        ...


def store_probe(location: str) -> StoreProbe:
    """The probe for a `postgresql://` URL or a SQLite path (`Settings.store_location`)."""
    if is_postgres_url(location):
        # Imported here: asyncpg is not imported by a bot on SQLite (bot/database/__init__.py says why).
        from bot.doctor.postgres_probe import PostgresProbe

        return PostgresProbe(location)
    from bot.doctor.sqlite_probe import SqliteProbe

    return SqliteProbe(location)


async def check_store(probe: StoreProbe, *, known: int = len(MIGRATIONS)) -> list[CheckResult]:
    """The store's line, its schema's line, and on PostgreSQL the LISTEN/NOTIFY round trip's line."""
    where = probe.where
    try:
        answer = await probe.answer()
    except StoreUnreachable as exc:
        return [problem(texts.STORE_WHAT.format(where=where), str(exc))]
    results = [ok(texts.STORE.format(where=where, detail=answer.detail)), _schema(answer.schema, known=known)]
    try:
        received = await probe.notifications()
    except StoreUnreachable as exc:
        return [*results, problem(texts.NOTIFY_WHAT, str(exc))]
    if received is True:
        results.append(ok(texts.NOTIFY))
    elif received is False:
        results.append(problem(texts.NOTIFY_WHAT, texts.NOTIFY_FIX.format(poll=NOTIFIED_POLL_SECONDS)))
    return results


def _schema(version: int | None, *, known: int) -> CheckResult:
    if not version:
        return ok(texts.SCHEMA_FRESH.format(known=known))
    if version == known:
        return ok(texts.SCHEMA_CURRENT.format(version=version))
    if version < known:
        pending = known - version
        return ok(texts.SCHEMA_PENDING.format(version=version, pending=pending, s="" if pending == 1 else "s"))
    # An older replica beside a newer one: it would run on tables whose meaning it does not know.
    return problem(texts.SCHEMA_WHAT, texts.SCHEMA_NEWER.format(version=version, known=known))
