"""The doctor's read-only look at the SQLite file of `database`: the bot can create or write it there, and the schema
version it holds (PRAGMA user_version, where bot/database/sqlite.py records it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from pathlib import Path

from bot.doctor.database_checks import StoreAnswer, StoreUnreachable
from bot.texts import doctor as texts

#: How long the read waits for a writer's lock (a running bot's commit is milliseconds).
BUSY_TIMEOUT_SECONDS = 5.0


class SqliteProbe:
    """bot.doctor.database_checks.StoreProbe for a SQLite path (or ":memory:")."""

    def __init__(self, path: str) -> None:
        self._path = path

    @property
    def where(self) -> str:
        return texts.SQLITE_WHERE.format(path=self._path)

    async def answer(self) -> StoreAnswer:
        if self._path == ":memory:":
            return StoreAnswer(texts.SQLITE_MEMORY, None)
        return await asyncio.to_thread(_answer, Path(self._path))

    async def notifications(self) -> None:
        """None: SQLite has no notifications (one process; bot/database/sqlite.py)."""
        return None


def _answer(path: Path) -> StoreAnswer:
    if not path.exists():
        # The bot creates the file and its missing directories (bot/database/sqlite.py): the nearest existing
        # ancestor must be a directory it can write to.
        existing = next(p for p in path.parents if p.exists())
        _writable_directory(existing)
        return StoreAnswer(texts.SQLITE_NEW.format(directory=existing), None)
    if not path.is_file():
        raise StoreUnreachable(texts.SQLITE_NOT_A_FILE)
    if not os.access(path, os.R_OK | os.W_OK):
        raise StoreUnreachable(texts.SQLITE_FILE_ACCESS)
    # WAL mode keeps `<file>-wal` and `<file>-shm` beside the file: the bot creates them at each start.
    _writable_directory(path.parent)
    return StoreAnswer(texts.SQLITE_FILE, _user_version(path))


def _writable_directory(directory: Path) -> None:
    if not directory.is_dir():
        raise StoreUnreachable(texts.SQLITE_NOT_A_DIRECTORY.format(directory=directory))
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StoreUnreachable(texts.SQLITE_DIRECTORY_ACCESS.format(directory=directory))


def _user_version(path: Path) -> int:
    # Read-only, and nothing created: a bot that is running has its `-wal` (and `-shm`) beside the file, which a
    # read-only connection reads too; without one, `immutable` keeps SQLite from creating them (a doctor run as
    # another user would leave files the bot cannot open). SQLite: "URI filenames", mode=ro and immutable=1.
    running = Path(f"{path}-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if running else "?mode=ro&immutable=1")
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)) as conn:
            row = conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as exc:
        raise StoreUnreachable(texts.SQLITE_UNREADABLE.format(error=exc)) from None
    return int(row[0]) if row else 0
