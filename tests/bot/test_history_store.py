"""Issue 15 §2: every finished verification's verdict and measurements are kept, and read back cheaply for the
history page, the `history` command and regression baselines."""

from __future__ import annotations

from bot.history import HistoryReporter
from bot.model import VerificationConclusion
from bot.settings import Settings
from bot.store import MIGRATIONS, Store
from tests.bot.conftest import running_bot
from tests.support.history import FAILOVER, failover_run, record
from tests.support.verifications import finished_with_evidence


async def test_baseline_values_are_the_latest_passing_measured_ones(store: Store) -> None:
    await record(
        store,
        *(failover_run(i, 4.0 + i) for i in range(1, 6)),  # 5.0 .. 9.0
        failover_run(6, 28.0, passed=False),  # a failed run never makes the baseline
        failover_run(7, None),  # nor one that measured nothing
        failover_run(8, 3.0, environment="production"),  # nor another environment
    )
    values = await store.passing_values(
        environment="staging", scenario="failover", measurement=FAILOVER, limit=3, exclude="vs-h005"
    )
    assert values == [8.0, 7.0, 6.0]  # newest first, the excluded (current) verification left out


async def test_history_is_newest_first_and_can_be_one_repositorys(store: Store) -> None:
    await record(store, failover_run(1, 4.0), failover_run(2, 5.0, repository="paws360/other"), failover_run(3, 6.0))
    everyone = await store.history(environment="staging", limit=10)
    assert [e.verification_id for e in everyone] == ["vs-h003", "vs-h002", "vs-h001"]
    assert (everyone[0].trigger, everyone[0].ref, everyone[0].conclusion) == ("comment", "main", "success")
    mine = await store.history(environment="staging", limit=10, repository="PAWS360/PAWS360")
    assert [e.verification_id for e in mine] == ["vs-h003", "vs-h001"]
    latest_two = await store.measurement_points(environment="staging", limit=2, repository="paws360/paws360")
    assert [(p.verification_id, p.measurement, p.value) for p in latest_two if p.measurement == FAILOVER] == [
        ("vs-h001", FAILOVER, 4.0),
        ("vs-h003", FAILOVER, 6.0),
    ]
    assert await store.history_environments() == ["staging"]


async def test_the_reporter_records_a_finished_verification_once(store: Store) -> None:
    reporter = HistoryReporter(store)
    v = failover_run(1, 4.0)
    v.completed_at, v.conclusion = None, None
    await reporter.finished(v)  # still running (an interrupted finish): nothing kept
    assert await store.history(environment="staging", limit=10) == []
    v = failover_run(1, 4.0)
    await reporter.finished(v)
    v.conclusion = VerificationConclusion.FAILURE  # finished again after a late undo: replaced, not repeated
    await reporter.finished(v)
    [entry] = await store.history(environment="staging", limit=10)
    assert entry.conclusion == "failure"
    assert len(await store.measurement_points(environment="staging", limit=10)) == 2
    assert await store.schema_version() == len(MIGRATIONS)


async def test_a_verification_that_completed_just_before_a_kill_gets_its_history_at_start_up(
    settings: Settings,
) -> None:
    # The reporters run after the verification is stored as complete: a kill in between left no history row.
    finished = finished_with_evidence()
    store = await Store.open(settings.store_location)
    try:
        await store.save_verification(finished)
    finally:
        await store.close()
    async with running_bot(settings) as (runtime, _, _):
        entries = await runtime.store.history(environment=finished.environment, limit=10)
    assert [e.verification_id for e in entries] == [finished.verification_id]
    assert entries[0].conclusion == VerificationConclusion.SUCCESS.value
