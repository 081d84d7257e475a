"""`/verify-staging abort` ends the verification within 2 s from every kind of wait, restores at once and concludes
`cancelled` (on virtual time, so a wait that ignored the abort would show as tens of seconds)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId, Verification, VerificationConclusion
from tests.scenarios.world import BACKEND, LAB_THRESHOLDS, PRIMARY, UNIT, World, request, world

#: The promise: an abort ends the verification this soon after it was asked for.
ABORT_WITHIN = timedelta(seconds=2)

#: Long limits, so every wait below would last far longer than ABORT_WITHIN if it ignored the abort.
LONG = dataclasses.replace(
    LAB_THRESHOLDS, runner_offline_detection=120, health_check=120, alert_fire=300, notification=120
)


async def until_step(w: World, scenario: ScenarioId, step: str, *, limit: float = 600.0) -> None:
    """Wait on virtual time until the engine reported `scenario` at `step` (bounded by `limit` virtual seconds)."""
    deadline = w.clock.monotonic() + limit
    while (scenario, step) not in w.reporter.steps:
        assert w.clock.monotonic() < deadline, f"the engine never reported {scenario.value} at {step!r}"
        await w.clock.sleep(0.25)


async def abort_during(w: World, scenario: ScenarioId, step: str, *, after: float) -> tuple[Verification, float]:
    """Start `scenario`, abort `after` virtual seconds into `step`; the verification and seconds the abort took."""
    assert w.engine is not None
    await w.engine.start(request("v-abort", (scenario,)))
    await until_step(w, scenario, step)
    await w.clock.sleep(after)
    asked = w.clock.now()
    assert await w.engine.abort("v-abort", by="alice-admin")
    await w.engine.wait("v-abort")
    v = await w.store.load_verification("v-abort")
    assert v is not None and v.completed_at is not None
    took = v.completed_at - asked
    assert took <= ABORT_WITHIN, f"the abort took {took.total_seconds():g} s from {step!r}"
    assert v.conclusion is VerificationConclusion.CANCELLED
    assert v.reason == "Aborted by alice-admin; everything the bot had stopped was started again."
    assert v.scenario(scenario).conclusion is ScenarioConclusion.ERROR
    assert v.scenario(scenario).reason == "Aborted by alice-admin before the scenario finished."
    return v, took.total_seconds()


async def test_abort_during_the_monitoring_alert_wait_restarts_the_runner_at_once(tmp_path: Path) -> None:
    async with world(tmp_path, thresholds=LONG) as w:

        async def never_fires(running: bool) -> None:
            return None

        w._alert = never_fires  # type: ignore[method-assign]
        v, _ = await abort_during(w, ScenarioId.MONITORING, "wait for alert", after=30)
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
    assert [(r.host, r.ok) for r in v.restorations] == [(PRIMARY, True)]


async def test_abort_during_the_monitoring_notification_wait(tmp_path: Path) -> None:
    async with world(tmp_path, "no-notification", thresholds=LONG) as w:
        v, _ = await abort_during(w, ScenarioId.MONITORING, "wait for notification", after=20)
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
    assert [(r.host, r.ok) for r in v.restorations] == [(PRIMARY, True)]


async def test_abort_during_the_runner_poll_restarts_the_runner_at_once(tmp_path: Path) -> None:
    async with world(tmp_path, thresholds=LONG) as w:
        w.runner_offline_after = None  # GitHub never notices: the poll backs off to 10 s between looks
        v, _ = await abort_during(w, ScenarioId.FAILOVER, "wait for primary offline", after=10.5)
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
    assert [(r.host, r.ok) for r in v.restorations] == [(PRIMARY, True)]


async def test_abort_during_the_backend_poll(tmp_path: Path) -> None:
    async with world(tmp_path, thresholds=LONG) as w:
        w.backend_broken_after_restart = True  # the health never matches again: the poll would last 120 s
        v, _ = await abort_during(w, ScenarioId.ROLLBACK, "wait for backend", after=10)
        assert w.backend_running()
    assert [(r.host, r.ok) for r in v.restorations] == [(BACKEND, True)]


async def test_abort_during_a_correlation_wait(tmp_path: Path) -> None:
    async with world(tmp_path, "slow-deploy", thresholds=LONG) as w:
        v, _ = await abort_during(w, ScenarioId.NORMAL_DEPLOY, "observe run", after=3)
    assert v.restorations == []


async def test_shutdown_waits_for_a_slow_undo_to_finish(tmp_path: Path) -> None:
    """SIGTERM ends in `engine.stop()`: it must return only once the stopped runner is running again."""
    async with world(tmp_path, thresholds=LONG) as w:
        assert w.engine is not None
        w.runner_offline_after = None

        async def slow_start(host: str, argv: tuple[str, ...]) -> None:
            if "start" in argv:
                await w.clock.sleep(20)  # an undo that needs a reconnect and a retry

        w.ssh.before = slow_start
        await w.engine.start(request("v-stop", (ScenarioId.FAILOVER,)))
        await until_step(w, ScenarioId.FAILOVER, "wait for primary offline")
        await w.engine.stop()
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
        v = await w.store.load_verification("v-stop")
    assert v is not None and v.conclusion is VerificationConclusion.CANCELLED
    assert [(r.host, r.ok) for r in v.restorations] == [(PRIMARY, True)]
