"""`verify-staging doctor` on the store: a SQLite file or a PostgreSQL database the bot can use, a schema this release
can run on (an older replica beside a newer one is a problem), and on PostgreSQL the LISTEN/NOTIFY round trip that
replicas wake each other by, all read-only: the doctor creates and migrates nothing."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg

from bot.doctor.database_checks import check_store
from bot.doctor.postgres_probe import PostgresProbe, listen
from bot.doctor.result import CheckResult
from bot.doctor.sqlite_probe import SqliteProbe
from bot.relay import NOTIFIED_POLL_SECONDS
from bot.store import MIGRATIONS, Store
from bot.texts import doctor as texts
from tests.support.ports import closed_port
from tests.support.postgres import fresh_database

KNOWN = len(MIGRATIONS)


def lines(results: list[CheckResult]) -> list[str]:
    return [r.line for r in results]


def ok_line(text: str) -> str:
    return texts.LINE_OK.format(what=text)


async def migrated_file(path: Path, *, user_version: int | None = None) -> None:
    """A SQLite file as `serve` leaves it (closed), its header's schema version then set to `user_version`."""
    store = await Store.open(str(path))
    await store.close()
    if user_version is not None:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute(f"PRAGMA user_version = {user_version}")


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# -- SQLite ---------------------------------------------------------------------------------------------------


async def test_a_new_file_in_a_directory_yet_to_be_made_is_fine_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "bot.db"
    results = await check_store(SqliteProbe(str(path)))
    where = texts.SQLITE_WHERE.format(path=path)
    assert lines(results) == [
        ok_line(texts.STORE.format(where=where, detail=texts.SQLITE_NEW.format(directory=tmp_path))),
        ok_line(texts.SCHEMA_FRESH.format(known=KNOWN)),
    ]
    assert files_under(tmp_path) == []


async def test_a_file_at_this_releases_schema_passes_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await migrated_file(path)
    before = (files_under(tmp_path), path.read_bytes())
    results = await check_store(SqliteProbe(str(path)))
    assert [r.ok for r in results] == [True, True]
    assert results[1].line == ok_line(f"store schema {KNOWN}: the one this verify-staging runs")
    assert results[0].line == ok_line(f"store SQLite file {path}: readable and writable")
    # Read-only: no -wal/-shm left beside it (a doctor run as root would leave files the bot cannot open).
    assert (files_under(tmp_path), path.read_bytes()) == before


async def test_a_file_two_migrations_behind_says_they_will_run_at_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await migrated_file(path, user_version=KNOWN - 2)
    results = await check_store(SqliteProbe(str(path)))
    assert results[1].line == ok_line(f"store schema {KNOWN - 2}: 2 migrations will run at the next start")


async def test_a_file_migrated_by_a_newer_release_is_a_problem_asking_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    await migrated_file(path, user_version=KNOWN + 1)
    results = await check_store(SqliteProbe(str(path)))
    assert [r.line for r in results if not r.ok] == [
        f"problem  store schema: the database was migrated by a newer verify-staging (schema {KNOWN + 1}, "
        f"this one knows {KNOWN}): upgrade this one"
    ]


async def test_a_file_read_while_the_bot_has_it_open_shows_its_uncheckpointed_schema(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    store = await Store.open(str(path))  # open: the last commits may be in bot.db-wal only
    try:
        await store.database.execute(f"PRAGMA user_version = {KNOWN + 3}")
        results = await check_store(SqliteProbe(str(path)))
    finally:
        await store.close()
    assert not results[1].ok and f"schema {KNOWN + 3}," in results[1].line


async def test_a_directory_that_is_a_regular_file_is_a_problem(tmp_path: Path) -> None:
    # Running as root, chmod would not stop the bot: a regular file where the directory should be does.
    (tmp_path / "state").write_text("not a directory\n")
    path = tmp_path / "state" / "db" / "bot.db"
    [result] = await check_store(SqliteProbe(str(path)))
    assert result.line == (
        f"problem  store SQLite file {path}: {tmp_path / 'state'} is not a directory; set `database` to a path "
        "inside a directory"
    )


async def test_a_file_that_is_not_a_sqlite_database_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_text("this is the operator's notes, not a database\n" * 5)
    [result] = await check_store(SqliteProbe(str(path)))
    assert not result.ok and "cannot be read as a SQLite database (file is not a database)" in result.line


# -- PostgreSQL -----------------------------------------------------------------------------------------------


async def test_a_migrated_postgresql_answers_at_this_schema_and_wakes_listeners() -> None:
    async with fresh_database() as url:
        store = await Store.open(url)
        await store.close()
        probe = PostgresProbe(url)
        results = await check_store(probe)
    assert probe.where.startswith("PostgreSQL 127.0.0.1:") and probe.where.endswith(
        f"/{url.rsplit('/', 1)[1]} (DATABASE_URL)"
    )
    assert lines(results) == [
        ok_line(f"store {probe.where}: answers"),
        ok_line(f"store schema {KNOWN}: the one this verify-staging runs"),
        ok_line("PostgreSQL notification round trip: replicas wake each other at once (LISTEN/NOTIFY)"),
    ]


async def test_an_empty_postgresql_database_is_fine_and_left_empty() -> None:
    async with fresh_database() as url:
        results = await check_store(PostgresProbe(url))
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT to_regclass('schema_version') IS NULL") is True
        finally:
            await conn.close()
    assert [r.line for r in results[1:]] == [
        ok_line(texts.SCHEMA_FRESH.format(known=KNOWN)),
        ok_line(texts.NOTIFY),
    ]


async def test_a_postgresql_migrated_by_a_newer_release_is_a_problem() -> None:
    async with fresh_database() as url:
        store = await Store.open(url)
        try:
            await store.database.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (KNOWN + 1, "2026-12-01T18:00:00+00:00"),
            )
        finally:
            await store.close()
        results = await check_store(PostgresProbe(url))
    assert [r.fix for r in results if not r.ok] == [texts.SCHEMA_NEWER.format(version=KNOWN + 1, known=KNOWN)]


async def test_a_refused_postgresql_is_one_problem_naming_where_without_the_password() -> None:
    port = closed_port()
    [result] = await check_store(PostgresProbe(f"postgresql://bot:pw-s3cret@127.0.0.1:{port}/vs"))
    assert result.line.startswith(
        f"problem  store PostgreSQL 127.0.0.1:{port}/vs (DATABASE_URL): the PostgreSQL database of DATABASE_URL "
        f"(127.0.0.1:{port}/vs) is unavailable: "
    )
    assert result.line.endswith(
        "check DATABASE_URL and that PostgreSQL runs there and admits this user from this machine"
    )
    assert "pw-s3cret" not in result.line


async def lost_listen(conn: Any, channel: str, on_payload: Any) -> None:
    """LISTEN, then the session that listens is not the client's any more: what a pooler in transaction mode does
    (PgBouncer hands the server connection back after each transaction, so the client never hears a NOTIFY)."""
    await listen(conn, channel, on_payload)
    await conn.execute("UNLISTEN *")


async def test_a_notification_that_never_arrives_names_the_pooler_the_poll_and_the_fix() -> None:
    async with fresh_database() as url:
        store = await Store.open(url)
        await store.close()
        results = await check_store(PostgresProbe(url, subscribe=lost_listen, wait=0.5))
    assert [r.ok for r in results] == [True, True, False]
    line = results[2].line
    assert line.startswith("problem  PostgreSQL notification round trip (LISTEN/NOTIFY): ")
    assert "pooler in transaction mode" in line and f"only by the {NOTIFIED_POLL_SECONDS:g} s poll" in line
    assert line.endswith("point DATABASE_URL at PostgreSQL itself or at a session-mode pool")
