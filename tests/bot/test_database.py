"""The two store backends behave alike: what several replicas rely on (one fresh answer per delivery GUID, one
migration run) and what other features' migrations and queries may use (portable SQL, `?`, 64-bit INTEGER)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.database import open_database
from bot.database.dialect import ddl_for_postgres, numbered_placeholders
from bot.store import MIGRATIONS, Store
from tests.support.ports import closed_port

#: A migration as another feature would append it (issue 16 §2's leases): portable DDL only.
LEASES = """
    CREATE TABLE sample_leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        renewals INTEGER NOT NULL DEFAULT 0,
        load REAL
    );
    CREATE TABLE lease_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL
    );
"""
#: Take the lease when it is free or expired; RETURNING names the owner afterwards (the taker, or the holder).
TAKE = (
    "INSERT INTO sample_leases (name, owner, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,"
    " renewals = sample_leases.renewals + 1 WHERE sample_leases.expires_at < ? RETURNING owner"
)


async def test_replicas_sharing_a_store_get_one_fresh_answer_per_delivery(store_location: str) -> None:
    # Two Store objects on one database stand for two replicas: every GUID is fresh for exactly one of them.
    first = await Store.open(store_location)
    second = await Store.open(store_location)
    try:
        answers = await asyncio.gather(
            *(
                replica.record_delivery(delivery_id=f"guid-{i % 40}", event="x", action=None, installation_id=None)
                for i in range(160)
                for replica in (first, second)
            )
        )
        assert sum(answers) == 40
        assert await first.delivery_count() == await second.delivery_count() == 40
    finally:
        await first.close()
        await second.close()


async def test_replicas_starting_together_migrate_once(store_location: str) -> None:
    stores = await asyncio.gather(*(Store.open(store_location) for _ in range(3)))
    try:
        assert [await s.schema_version() for s in stores] == [len(MIGRATIONS)] * 3
    finally:
        for s in stores:
            await s.close()


async def test_an_appended_portable_migration_and_its_queries_run_on_both(store_location: str) -> None:
    db = await open_database(store_location)
    try:
        await db.migrate((*MIGRATIONS, LEASES))
        assert await db.schema_version() == len(MIGRATIONS) + 1
        assert await db.fetchval(TAKE, ("runner-poller", "replica-a", "2026-12-01T10:00:30", "2026-12-01T10:00:00"))
        # Held and not expired: the other replica's take changes nothing and returns no row.
        taken = await db.fetchval(TAKE, ("runner-poller", "replica-b", "2026-12-01T10:00:31", "2026-12-01T10:00:01"))
        assert taken is None
        # Expired: the other replica takes it over.
        taken = await db.fetchval(TAKE, ("runner-poller", "replica-b", "2026-12-01T10:01:31", "2026-12-01T10:01:01"))
        assert taken == "replica-b"
        assert await db.fetchone("SELECT owner, renewals, load FROM sample_leases") == ("replica-b", 1, None)
        await db.executemany("INSERT INTO lease_log (name) VALUES (?)", [("a",), ("b",)])
        assert await db.fetchall("SELECT id, name FROM lease_log ORDER BY id") == [(1, "a"), (2, "b")]
        assert await db.execute("UPDATE sample_leases SET load = ? WHERE owner = ?", (0.125, "replica-b")) == 1
        assert await db.fetchval("SELECT load FROM sample_leases") == 0.125
    finally:
        await db.close()


async def test_integer_columns_hold_githubs_64_bit_ids(store: Store) -> None:
    big = 2**40  # GitHub's comment and check run ids no longer fit in 32 bits
    await store.record_delivery(delivery_id="d", event="x", action=None, installation_id=big)
    assert await store.database.fetchval("SELECT installation_id FROM deliveries") == big


async def test_a_transaction_commits_together_or_not_at_all(store: Store) -> None:
    db = store.database
    with pytest.raises(RuntimeError, match="boom"):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO released_deliveries (delivery_id, released_at) VALUES (?, ?)", ("a", "t"))
            raise RuntimeError("boom")
    async with db.transaction(durable=True) as tx:
        await tx.execute("INSERT INTO released_deliveries (delivery_id, released_at) VALUES (?, ?)", ("b", "t"))
        await tx.execute("INSERT INTO released_deliveries (delivery_id, released_at) VALUES (?, ?)", ("c", "t"))
    assert await db.fetchall("SELECT delivery_id FROM released_deliveries ORDER BY delivery_id") == [("b",), ("c",)]


async def test_a_statement_beside_its_own_transaction_is_refused_not_hung() -> None:
    # SQLite: the transaction holds the one connection's lock; waiting for it from inside would never end.
    db = await open_database(":memory:")
    try:
        async with db.transaction():
            with pytest.raises(RuntimeError, match="transaction's object"):
                async with asyncio.timeout(5):
                    await db.fetchval("SELECT 1")
    finally:
        await db.close()


async def test_an_unreachable_postgresql_is_named_without_its_password() -> None:
    port = closed_port()
    with pytest.raises(OSError) as caught:
        await Store.open(f"postgresql://bot:pw-s3cret@127.0.0.1:{port}/vs")
    assert str(caught.value).startswith(
        f"the PostgreSQL database of DATABASE_URL (127.0.0.1:{port}/vs) is unavailable:"
    )
    assert "pw-s3cret" not in str(caught.value)


def test_placeholders_are_numbered_outside_quotes_only() -> None:
    sql = "SELECT '?', \"a?b\", ? FROM t -- why?\nWHERE x = ? AND y = 'it''s?' AND z = 1 - ?"
    expected = "SELECT '?', \"a?b\", $1 FROM t -- why?\nWHERE x = $2 AND y = 'it''s?' AND z = 1 - $3"
    assert numbered_placeholders(sql) == expected


def test_ddl_words_postgresql_reads_differently_are_translated() -> None:
    assert ddl_for_postgres(LEASES).split() == [
        *"CREATE TABLE sample_leases ( name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TEXT NOT NULL,".split(),
        *"renewals BIGINT NOT NULL DEFAULT 0, load DOUBLE PRECISION ); CREATE TABLE lease_log (".split(),
        *"id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL );".split(),
    ]


def test_a_bot_on_sqlite_does_not_import_the_postgresql_driver() -> None:
    # asyncpg takes 0.1-0.3 s to import: `serve` on SQLite (the default) starts without it.
    code = "import sys, bot.runtime.cli, bot.store, bot.settings; print('asyncpg' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


async def test_a_replica_opening_a_new_sqlite_file_while_another_migrates_it_waits_for_it(tmp_path: Path) -> None:
    """Switching a file to WAL needs a lock SQLite will not wait for while another connection writes (it answers
    "database is locked" at once); a replica starting beside one that is migrating must wait, not fail."""
    path = tmp_path / "bot.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE first_migration (x INTEGER)")
    loop = asyncio.get_running_loop()
    committed = loop.run_in_executor(None, lambda: (time.sleep(0.3), writer.execute("COMMIT")))  # the writer's work
    try:
        db = await open_database(str(path))
        try:
            assert await db.fetchval("PRAGMA journal_mode") == "wal"
            assert await db.fetchval("SELECT count(*) FROM first_migration") == 0
        finally:
            await db.close()
    finally:
        await committed
        writer.close()
