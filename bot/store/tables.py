"""What every part of the store shares: the backend, and times as they are stored."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.database import Database, Row


class Tables:
    """One part of the store (bot/store/__init__.py composes them): its SQL over the shared backend."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def _rows(self, query: str, params: tuple[object, ...]) -> list[Row]:
        return await self._db.fetchall(query, params)

    async def _first_column(self, query: str, params: tuple[object, ...] = ()) -> list[object]:
        return [r[0] for r in await self._db.fetchall(query, params)]


def now() -> str:
    return datetime.now(UTC).isoformat()


def ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def utc(t: datetime) -> str:
    """A time as stored: UTC ISO text, so the text order is the time order and one instant has one spelling."""
    return t.astimezone(UTC).isoformat()
