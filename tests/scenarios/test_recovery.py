"""The undo journal across a crash, abort, shutdown, and webhooks that are lost, duplicated or reordered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.model import ScenarioConclusion, ScenarioId, VerificationConclusion
from scenarios import recover
from tests.scenarios.world import BACKEND, PRIMARY, UNIT, Chaos, request, world


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, no finally in the engine can help."""


@pytest.mark.parametrize(
    ("scenario", "host", "unit", "kill_on"),
    [
        (ScenarioId.FAILOVER, PRIMARY, UNIT.format(PRIMARY), "start"),  # killed just before the undo
        (ScenarioId.ROLLBACK, BACKEND, "paws360-backend", "start"),
        (ScenarioId.FAILOVER, PRIMARY, UNIT.format(PRIMARY), "dispatch"),  # killed while the runner is down
    ],
)
async def test_recover_after_a_kill_restarts_what_was_stopped(
    tmp_path: Path, store_location: str, scenario: ScenarioId, host: str, unit: str, kill_on: str
) -> None:
    # On SQLite and on PostgreSQL: the journal written before the harm is what the next start replays.
    async with world(tmp_path, store_location=store_location) as w:
        assert w.engine is not None
        killed = asyncio.get_running_loop().create_future()

        async def kill(on_host: str, argv: tuple[str, ...]) -> None:
            if kill_on in argv and on_host == host and not killed.done():
                killed.set_result(None)
                await asyncio.Event().wait()  # frozen forever, like a dead process

        if kill_on == "dispatch":
            original = w.repo.dispatch_workflow

            async def frozen_dispatch(**kw: object) -> int | None:
                killed.set_result(None)
                await asyncio.Event().wait()
                return await original(**kw)  # type: ignore[arg-type]

            w.repo.dispatch_workflow = frozen_dispatch  # type: ignore[method-assign]
        else:
            w.ssh.before = kill
        await w.engine.start(request("v-9", (scenario,)))
        await asyncio.wait_for(killed, timeout=30)
        assert not w.ssh.running(host, unit)
        # The "new process": a fresh start-up over the same database, SSH and GitHub.
        w.ssh.before = None
        concluded = await recover(settings=w.settings, store=w.store, ssh=w.ssh, reporter=w.reporter, clock=w.clock)
        assert w.ssh.running(host, unit)
        assert [v.verification_id for v in concluded] == ["v-9"]
        v = await w.store.load_verification("v-9")
        assert v is not None
        assert v.conclusion is VerificationConclusion.CANCELLED
        assert "interrupted during" in (v.reason or "")
        assert [(r.host, r.ok, r.after_restart) for r in v.restorations] == [(host, True, True)]
        assert v.scenario(scenario).conclusion is ScenarioConclusion.ERROR
        assert await w.store.journal_pending() == []
        assert w.reporter.finished_list[-1].verification_id == "v-9"
        for task in [t for t in asyncio.all_tasks() if t.get_name() == "verification v-9"]:
            task.cancel()


async def test_abort_stops_at_a_safe_point_and_restores(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        assert w.engine is not None
        await w.engine.start(request("v-a", (ScenarioId.FAILOVER, ScenarioId.ROLLBACK)))
        assert w.engine.running("staging") == "v-a"
        while not w.repo.dispatches:  # bounded by the engine's own timeouts on virtual time
            await w.clock.sleep(0.25)
        assert await w.engine.abort("v-a", by="alice-admin")
        await w.engine.wait("v-a")
        assert w.engine.running("staging") is None
        assert not await w.engine.abort("v-a", by="alice-admin")
        v = await w.store.load_verification("v-a")
    assert v is not None
    assert v.conclusion is VerificationConclusion.CANCELLED
    assert v.reason == "Aborted by alice-admin; everything the bot had stopped was started again."
    assert v.scenario(ScenarioId.FAILOVER).reason == "Aborted by alice-admin before the scenario finished."
    assert v.scenario(ScenarioId.ROLLBACK).conclusion is ScenarioConclusion.SKIPPED
    assert [r.ok for r in v.restorations] == [True] and w.ssh.running(PRIMARY, UNIT.format(PRIMARY))


async def test_stop_at_shutdown_restores_and_concludes_cancelled(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        assert w.engine is not None
        await w.engine.start(request("v-s", (ScenarioId.ROLLBACK,)))
        while not w.repo.dispatches:
            await w.clock.sleep(0.25)
        await w.engine.stop()
        assert w.backend_running()
        v = await w.store.load_verification("v-s")
    assert v is not None and v.conclusion is VerificationConclusion.CANCELLED
    assert v.restorations[0].ok


@pytest.mark.parametrize(
    "chaos",
    [
        Chaos(drop=0.3, seed=1),
        Chaos(drop=0.3, seed=2),
        Chaos(duplicate=0.5, max_delay=3.0, seed=3),
        Chaos(drop=1.0),
    ],
    ids=["loss-1", "loss-2", "chaos", "no-webhooks"],
)
async def test_lost_and_reordered_webhooks_give_the_same_verdicts(tmp_path: Path, chaos: Chaos) -> None:
    async with world(tmp_path, chaos=chaos) as w:
        v = await w.verify(ScenarioId.NORMAL_DEPLOY, ScenarioId.CONCURRENCY, ScenarioId.FAILOVER, ScenarioId.ROLLBACK)
    assert [s.conclusion for s in v.scenarios] == [ScenarioConclusion.PASSED] * 4, [s.reason for s in v.scenarios]
    assert v.scenario(ScenarioId.NORMAL_DEPLOY).measurements["deployment_duration_s"] == 5.0
    assert v.scenario(ScenarioId.FAILOVER).measurements["failover_latency_s"] == 3.0
    assert v.scenario(ScenarioId.ROLLBACK).measurements["rollback_s"] == 4.0
    assert v.scenario(ScenarioId.CONCURRENCY).measurements["deploy_jobs_overlap_s"] == 0


async def test_reconciliation_happens_only_when_events_are_late(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.verify(ScenarioId.NORMAL_DEPLOY)
        healthy_calls = list(w.repo.calls)
    assert "list_jobs" not in healthy_calls and "get_run" not in healthy_calls
    async with world(tmp_path / "silent", chaos=Chaos(drop=1.0)) as w:
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    assert v.scenario(ScenarioId.NORMAL_DEPLOY).conclusion is ScenarioConclusion.PASSED
    assert 1 <= w.repo.calls.count("list_jobs") <= 4  # an 11 s run, one look per 5 s of silence
