"""The store keeps deliveries, verifications and the undo journal across restarts, on SQLite and on PostgreSQL
(`store_location` and `store` run each test once per backend: tests/conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.database.sqlite import SqliteDatabase
from bot.model import JiraReport, Restoration, ScenarioConclusion, ScenarioId, Verification, VerificationConclusion
from bot.serialize import verification_from_json, verification_to_json
from bot.store import MIGRATIONS, Store
from tests.support.verifications import conclude, new_verification


def full_verification(verification_id: str = "v-1", *, started: datetime | None = None) -> Verification:
    """Every kind of field filled: a concluded scenario (criteria, runs, jobs, steps, measurements, a None among
    them), one never run, a restoration, JIRA, and a start time with microseconds."""
    v = new_verification((ScenarioId.FAILOVER, ScenarioId.MONITORING))
    v.verification_id = verification_id
    v.started_at = started or datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)
    failover = v.scenarios[0]
    conclude(failover, ScenarioConclusion.FAILED, start=0, measurements={"failover_s": 41.5, "queue_s": None})
    failover.check_run_id = 99
    v.conclusion, v.github_api_calls, v.comment_id = VerificationConclusion.FAILURE, 17, 5
    v.restorations = [Restoration("production-runner-01", "stop-runner", "systemctl start x", ok=True)]
    v.jira = JiraReport("INFRA-473", transitions=["In Progress"])
    return v


def test_verification_json_round_trip_is_lossless() -> None:
    v = full_verification()
    assert verification_from_json(verification_to_json(v)) == v


async def test_duplicate_delivery_is_reported_and_survives_restart(store_location: str) -> None:
    path = store_location
    store = await Store.open(path)
    assert await store.record_delivery(delivery_id="d1", event="ping", action=None, installation_id=None)
    assert not await store.record_delivery(delivery_id="d1", event="ping", action=None, installation_id=None)
    await store.close()

    reopened = await Store.open(path)
    try:
        assert not await reopened.record_delivery(delivery_id="d1", event="ping", action=None, installation_id=1)
        assert await reopened.schema_version() == len(MIGRATIONS)
    finally:
        await reopened.close()


async def test_verifications_latest_and_unfinished(store: Store) -> None:
    t0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    old = full_verification("old", started=t0)
    old.completed_at = t0 + timedelta(minutes=5)
    new = full_verification("new", started=t0 + timedelta(hours=1))
    await store.save_verification(old)
    await store.save_verification(new)

    assert await store.load_verification("old") == old
    assert await store.load_verification("missing") is None
    latest = await store.latest_verification(repository="PAWS360/paws360", pull_request=42)
    assert latest is not None and latest.verification_id == "new"
    assert [v.verification_id for v in await store.unfinished_verifications()] == ["new"]

    new.completed_at = t0 + timedelta(hours=2)
    await store.save_verification(new)  # upsert, not a second row
    assert await store.unfinished_verifications() == []
    assert await store.latest_verification(repository="paws360/paws360", pull_request=41) is None
    # A re-run replaces the JIRA attachments of these (bot/reporting/jira_attachments.py).
    assert await store.verification_ids(repository="PAWS360/paws360", pull_request=42) == ["old", "new"]
    assert await store.verification_ids(repository="paws360/paws360", pull_request=41) == []

    await store.record_event(verification_id="new", kind="dispatched", data={"run_id": 7})
    assert await store.events("new") == [("dispatched", {"run_id": 7})]


async def test_journal_pending_until_restored_ok(store_location: str) -> None:
    path = store_location
    store = await Store.open(path)
    first = await store.journal_add(verification_id="v", host="h1", fault="stop-runner", undo=["systemctl start a"])
    second = await store.journal_add(verification_id="v", host="h2", fault="stop-backend", undo=["start b", "c"])
    await store.journal_mark_injected(first)
    await store.journal_mark_restored(second, ok=False, error="unreachable")
    await store.close()

    store = await Store.open(path)
    try:
        pending = await store.journal_pending()
        assert [(e.id, e.host, e.undo) for e in pending] == [
            (first, "h1", ("systemctl start a",)),
            (second, "h2", ("start b", "c")),
        ]
        assert pending[0].injected_at is not None and pending[0].ok is None
        assert pending[1].ok is False and pending[1].error == "unreachable"

        await store.journal_mark_restored(first, ok=True, after_restart=True)
        assert [e.id for e in await store.journal_pending()] == [second]
    finally:
        await store.close()


async def test_concurrent_writers_keep_every_row(store: Store) -> None:
    results = await asyncio.gather(
        *(
            store.record_delivery(delivery_id=f"d{i % 50}", event="x", action=None, installation_id=None)
            for i in range(100)
        )
    )
    assert sum(results) == 50
    assert await store.delivery_count() == 50


async def test_journal_writes_are_synced_to_disk_and_deliveries_are_not(tmp_path: Path) -> None:
    # Deliveries commit with synchronous=NORMAL (a crash loses nothing; not syncing keeps acknowledgements fast);
    # the undo journal must survive a power cut too, so each of its writes commits with synchronous=FULL, even when
    # journal writes and deliveries interleave.
    store = await Store.open(str(tmp_path / "bot.db"))
    statements: list[str] = []
    try:
        assert isinstance(store.database, SqliteDatabase)
        await store.database.connection.set_trace_callback(statements.append)
        entries = await asyncio.gather(
            *(store.journal_add(verification_id="v", host=f"h{i}", fault="stop", undo=["start"]) for i in range(5)),
            *(
                store.record_delivery(delivery_id=f"d{i}", event="x", action=None, installation_id=None)
                for i in range(20)
            ),
        )
        await asyncio.gather(*(store.journal_mark_restored(int(e), ok=True) for e in entries[:5]))
        await store.record_delivery(delivery_id="later", event="x", action=None, installation_id=None)
        assert await store.database.fetchval("PRAGMA synchronous") == 1  # back to NORMAL
    finally:
        await store.close()

    mode = "NORMAL"
    in_force: dict[str, list[str]] = {"journal": [], "deliveries": []}
    for sql in statements:
        if sql.startswith("PRAGMA synchronous="):
            mode = sql.removeprefix("PRAGMA synchronous=")
        elif "INTO journal" in sql or sql.startswith("UPDATE journal"):
            in_force["journal"].append(mode)
        elif "INTO deliveries" in sql:
            in_force["deliveries"].append(mode)
    assert in_force["journal"] == ["FULL"] * 10
    # Each journal write is a transaction of its own, so no delivery batch slips in between its pragmas.
    assert in_force["deliveries"] and set(in_force["deliveries"]) == {"NORMAL"}


async def test_pruning_forgets_only_deliveries_older_than_the_retention(store: Store) -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    ages = {"d-40-days": 40, "d-30-days-and-a-second": 30, "d-29-days": 29, "d-today": 0}
    for delivery_id, days in ages.items():
        extra = timedelta(seconds=1) if delivery_id == "d-30-days-and-a-second" else timedelta()
        assert await store.record_delivery(
            delivery_id=delivery_id, event="workflow_job", action="queued", installation_id=1,
            received_at=now - timedelta(days=days) - extra,
        )  # fmt: skip
    assert await store.prune_deliveries(older_than=now - timedelta(days=30)) == 2
    assert await store.delivery_count() == 2
    # The kept ones still deduplicate; a pruned id is new again (GitHub no longer redelivers it anyway).
    for delivery_id, fresh in (("d-29-days", False), ("d-today", False), ("d-40-days", True)):
        got = await store.record_delivery(delivery_id=delivery_id, event="workflow_job", action=None,
                                          installation_id=1)  # fmt: skip
        assert got is fresh, delivery_id
