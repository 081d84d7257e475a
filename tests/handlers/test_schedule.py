"""Scheduled verifications on a virtual clock: due times, one run per due time (also with two schedulers on one
store), skips with their reasons, the run missed while the App was down, and the tracking issue."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from bot.metrics import Metrics
from bot.model import ScenarioId, Trigger
from bot.reporting import external_id
from bot.settings_model import ScheduleSettings
from bot.store import Store
from bot.texts import schedule as texts
from handlers.checks import router as checks_router
from handlers.context import HandlerContext
from handlers.schedule import Scheduler, ScheduleSkips
from tests.fakes.clock import FakeClock
from tests.fakes.engine import FakeEngine
from tests.handlers.handler_support import World, check_event
from tests.support.verifications import REPO, new_verification
from tests.support.wait import wait_until

#: A Friday 09:02 UTC: `*/5 * * * *` is next due at 09:05.
NOW = datetime(2026, 11, 27, 9, 2, tzinfo=UTC)
MAIN_SHA = "b" * 40
EVERY_5 = "*/5 * * * *"


def scheduled(w: World, *, cron: str = EVERY_5, engine: FakeEngine | None = None, store: Store | None = None,
              ref: str | None = None) -> tuple[Scheduler, FakeClock, Metrics]:  # fmt: skip
    """A scheduler for staging (normal-deploy only, through REPO) on a clock at NOW, with main at MAIN_SHA."""
    w.repo.branches.update({"main": MAIN_SHA, "release": "c" * 40})
    staging = w.ctx.settings.environments["staging"]
    schedule = ScheduleSettings(cron=cron, repository=REPO, scenarios=(ScenarioId.NORMAL_DEPLOY,), ref=ref)
    settings = dataclasses.replace(
        w.ctx.settings, environments={"staging": dataclasses.replace(staging, schedule=schedule)}
    )
    metrics = Metrics()
    ctx: HandlerContext = dataclasses.replace(
        w.ctx, settings=settings, engine=engine or w.engine, store=store or w.store, metrics=metrics
    )
    clock = FakeClock(start=NOW)

    async def installation_for(repository: str) -> int:
        return w.repo.installation_id

    skips = ScheduleSkips(metrics.registry, environments=["staging"])
    return Scheduler(ctx, clock=clock, installation_for=installation_for, skips=skips), clock, metrics


def skips(metrics: Metrics, reason: str) -> float | None:
    return metrics.registry.get_sample_value(
        "verify_staging_schedule_skips_total", {"environment": "staging", "reason": reason}
    )


async def first_due_is_skipped(
    w: World, scheduler: Scheduler, clock: FakeClock, metrics: Metrics, *, reason: str
) -> None:
    """09:05 comes: nothing starts, and the skip is recorded with `reason` and counted."""
    clock.advance(3 * 60)
    await scheduler.tick()
    assert w.engine.started == []
    assert [(r.outcome, r.reason) for r in await w.store.schedule_runs("staging")] == [("skipped", reason)]
    assert skips(metrics, reason) == 1


async def test_the_first_start_stores_the_next_due_time_and_starts_nothing(w: World) -> None:
    scheduler, _, _ = scheduled(w)
    await scheduler.catch_up()
    assert await w.store.schedule_next_due("staging") == datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    assert w.engine.started == []


async def test_a_due_time_starts_one_verification_of_the_branch_head_reported_on_the_tracking_issue(
    w: World,
) -> None:
    scheduler, clock, _ = scheduled(w)
    async with clock.running():
        task = asyncio.create_task(scheduler.run())
        try:
            await wait_until(lambda: w.engine.started, timeout=10, what="the scheduled verification")
        finally:
            task.cancel()
    [request] = w.engine.started
    assert (request.pull_request, request.trigger, request.requested_by) == (0, Trigger.SCHEDULE, "schedule")
    assert (request.head_sha, request.ref, request.scenarios) == (
        MAIN_SHA,
        "refs/heads/main",
        (ScenarioId.NORMAL_DEPLOY,),
    )
    [issue] = w.repo.issues
    assert issue.title == texts.TRACKING_TITLE.format(environment="staging")
    assert issue.labels == (texts.TRACKING_LABEL,)
    assert request.tracking_issue == issue.number
    # Virtual time runs on while the test looks: the later due times found the verification still running.
    first, *later = await w.store.schedule_runs("staging")
    assert (first.due_at, first.outcome, first.verification_id) == (
        datetime(2026, 11, 27, 9, 5, tzinfo=UTC),
        "started",
        request.verification_id,
    )
    # (The last may have been cut off between its claim and its outcome when the test cancelled the scheduler.)
    assert {(r.outcome, r.reason) for r in later[:-1]} <= {("skipped", "running")}


async def test_the_tracking_issue_is_found_again_and_the_configured_ref_is_verified(w: World) -> None:
    scheduler, clock, _ = scheduled(w, ref="release")
    existing = w.repo.add_issue(title=texts.TRACKING_TITLE.format(environment="staging"), labels=[texts.TRACKING_LABEL])
    await scheduler.catch_up()
    clock.advance(3 * 60)
    await scheduler.tick()
    [request] = w.engine.started
    assert (request.ref, request.head_sha, request.tracking_issue) == ("refs/heads/release", "c" * 40, existing.number)
    assert w.repo.of("create_issue") == []


async def test_two_schedulers_on_one_store_start_one_verification_per_due_time(w: World) -> None:
    other_store = await Store.open(w.ctx.settings.database)
    try:
        first, first_clock, _ = scheduled(w)
        other_engine = FakeEngine()
        second, second_clock, _ = scheduled(w, engine=other_engine, store=other_store)
        await first.catch_up()
        await second.catch_up()
        for clock in (first_clock, second_clock):
            clock.advance(3 * 60)
        await first.tick()
        await second.tick()
        assert len(w.engine.started) + len(other_engine.started) == 1
        [run] = await other_store.schedule_runs("staging")
        assert run.outcome == "started"
    finally:
        await other_store.close()


async def test_a_due_time_while_a_verification_runs_is_skipped_with_the_reason_recorded(w: World) -> None:
    scheduler, clock, metrics = scheduled(w)
    await scheduler.catch_up()
    w.engine.busy["staging"] = "vs-asked-on-a-pull-request"
    await first_due_is_skipped(w, scheduler, clock, metrics, reason="running")


async def test_a_due_time_with_an_undo_pending_on_staging_is_skipped(w: World) -> None:
    scheduler, clock, metrics = scheduled(w)
    await scheduler.catch_up()
    host = w.ctx.settings.environments["staging"].backend.host
    await w.store.journal_add(verification_id="vs-old", host=host, fault="stop backend", undo=["systemctl start x"])
    await first_due_is_skipped(w, scheduler, clock, metrics, reason="undo-pending")


async def test_a_branch_github_cannot_find_is_skipped_as_not_started(w: World) -> None:
    scheduler, clock, metrics = scheduled(w, ref="gone")
    await scheduler.catch_up()
    await first_due_is_skipped(w, scheduler, clock, metrics, reason="not-started")


async def test_a_run_missed_while_down_by_less_than_a_period_runs_once_at_start_up(w: World) -> None:
    await w.store.set_schedule_next_due("staging", NOW - timedelta(minutes=2))  # 09:00, due while the App was down
    scheduler, _, _ = scheduled(w)
    await scheduler.catch_up()
    [request] = w.engine.started
    [run] = await w.store.schedule_runs("staging")
    assert (run.due_at, run.outcome, run.verification_id) == (
        NOW - timedelta(minutes=2),
        "started",
        request.verification_id,
    )
    assert await w.store.schedule_next_due("staging") == datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    w.engine.busy.clear()
    restarted, _, _ = scheduled(w)  # a second restart before 09:05 starts nothing more
    await restarted.catch_up()
    assert len(w.engine.started) == 1


async def test_older_missed_runs_are_recorded_as_missed_and_only_the_latest_runs(w: World) -> None:
    await w.store.set_schedule_next_due("staging", datetime(2026, 11, 27, 8, 45, tzinfo=UTC))
    scheduler, _, metrics = scheduled(w)
    await scheduler.catch_up()
    assert len(w.engine.started) == 1
    runs = {r.due_at.strftime("%H:%M"): (r.outcome, r.reason) for r in await w.store.schedule_runs("staging")}
    assert runs == {
        "08:45": ("skipped", "missed"),
        "08:50": ("skipped", "missed"),
        "08:55": ("skipped", "missed"),
        "09:00": ("started", None),
    }
    assert skips(metrics, "missed") == 3


async def test_a_restart_after_the_claim_never_starts_that_due_time_again(w: World) -> None:
    scheduler, clock, _ = scheduled(w)
    await scheduler.catch_up()
    clock.advance(3 * 60)
    await scheduler.tick()
    assert len(w.engine.started) == 1
    w.engine.busy.clear()
    # As if the App died between claiming 09:05 and storing 09:10: the store still says 09:05 is next.
    await w.store.set_schedule_next_due("staging", datetime(2026, 11, 27, 9, 5, tzinfo=UTC))
    restarted, restarted_clock, _ = scheduled(w)
    restarted_clock.advance(4 * 60)  # 09:06
    await restarted.catch_up()
    assert len(w.engine.started) == 1
    assert await w.store.schedule_next_due("staging") == datetime(2026, 11, 27, 9, 10, tzinfo=UTC)


async def test_github_s_re_run_of_a_scheduled_verification_is_answered_on_the_tracking_issue(w: World) -> None:
    v = dataclasses.replace(
        new_verification((ScenarioId.NORMAL_DEPLOY,)), pull_request=0, trigger=Trigger.SCHEDULE, tracking_issue=9
    )
    await w.store.save_verification(v)
    event = check_event("check_run", "rerequested", user="alice-admin", external_id=external_id(v.verification_id))
    await w.handle(checks_router, event)
    assert w.engine.started == []
    [reply] = w.repo.of("create_comment")
    assert reply.args == {
        "issue_number": 9,
        "body": texts.RERUN_REFUSED.format(user="alice-admin", verification_id=v.verification_id),
    }
