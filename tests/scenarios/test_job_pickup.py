"""A job nobody picks up is diagnosed, not waited out (issue 14 §3): past `thresholds.queue`, a queued job that no
online runner's labels match fails its scenario on `job-picked-up`, naming the labels and the online runners; the
run is cancelled and what the scenario stopped is restored. A job merely waiting for a busy runner is not."""

from __future__ import annotations

from pathlib import Path

from bot.github.models import Runner
from bot.model import ScenarioConclusion, ScenarioId
from bot.texts import reports as texts
from tests.scenarios.verdicts import crit, failed
from tests.scenarios.world import LAB_THRESHOLDS, PRIMARY, SECONDARY, world

#: What the primary (which lost `production`) and the secondary register with under label-mismatch.
MISMATCH_REASON_ONLINE = f"{PRIMARY} [self-hosted, primary], {SECONDARY} [self-hosted, production, secondary]"


async def test_a_deploy_job_no_runner_can_take_fails_normal_deploy_on_job_picked_up(tmp_path: Path) -> None:
    async with world(tmp_path, "label-mismatch") as w:
        began = w.clock.monotonic()
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
        took = w.clock.monotonic() - began
        runs = dict(w.repo.runs)
    s = failed(v, ScenarioId.NORMAL_DEPLOY)
    assert crit(v, ScenarioId.NORMAL_DEPLOY, "job-picked-up") is False
    assert s.reason is not None and s.reason.startswith("deploy waited 1")  # 12 s, and at most one tick more
    assert s.reason.endswith(
        ": no online runner has all of [self-hosted, production, primary]; online: " + MISMATCH_REASON_ONLINE
    )
    picked = next(c for c in s.criteria if c.id == "job-picked-up")
    assert picked.threshold == LAB_THRESHOLDS.queue and picked.unit == "s"
    assert picked.observed["labels"] == ["self-hosted", "production", "primary"]
    assert picked.observed["online"][PRIMARY] == ["self-hosted", "primary"]
    # Diagnosed within the queue threshold and a tick, not after run_timeout (120 s); the run was cancelled.
    assert took < LAB_THRESHOLDS.queue + 10, took
    assert [(r.status, r.conclusion) for r in runs.values()] == [("completed", "cancelled")]
    assert s.runs[0].conclusion == "cancelled"
    assert "cancel stranded run" in [step.name for step in s.steps]


async def test_a_stranded_job_in_a_scenario_with_a_fault_cancels_every_run_and_restores_the_fault(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "label-mismatch") as w:
        v = await w.verify(ScenarioId.CONCURRENCY)
        runs = dict(w.repo.runs)
    s = failed(v, ScenarioId.CONCURRENCY)
    assert crit(v, ScenarioId.CONCURRENCY, "job-picked-up") is False
    assert s.reason is not None and "no online runner has all of [self-hosted, production, primary]" in s.reason
    # Both dispatched runs end: neither is left queued on staging.
    assert len(runs) == 2 and {(r.status, r.conclusion) for r in runs.values()} == {("completed", "cancelled")}


async def test_rollback_with_a_stranded_job_restores_the_backend_it_stopped(tmp_path: Path) -> None:
    async with world(tmp_path, "label-mismatch") as w:
        v = await w.verify(ScenarioId.ROLLBACK)
        backend_running = w.backend_running()
    failed(v, ScenarioId.ROLLBACK)
    assert crit(v, ScenarioId.ROLLBACK, "job-picked-up") is False
    assert backend_running and v.restorations and all(r.ok for r in v.restorations)


async def test_a_job_waiting_for_a_busy_runner_that_has_its_labels_is_not_diagnosed(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        # The primary is online and has every label but is busy for longer than the queue threshold (another
        # workflow's job): the deploy job waits, then runs. Waiting for a busy runner is not a stranded job.
        w.repo.runners[PRIMARY] = Runner(1, PRIMARY, "online", True, ("self-hosted", "production", "primary"))

        async def free_later() -> None:
            await w.clock.sleep(LAB_THRESHOLDS.queue * 2)
            w.repo.set_runner(PRIMARY, busy=False)

        w._spawn(free_later())
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = v.scenario(ScenarioId.NORMAL_DEPLOY)
    assert s.conclusion is ScenarioConclusion.PASSED, s.reason
    assert s.measurements["queue_s"] is not None and s.measurements["queue_s"] > LAB_THRESHOLDS.queue


async def test_failover_keeps_its_own_threshold_for_the_job_queued_while_the_primary_is_gone(tmp_path: Path) -> None:
    async with world(tmp_path, "no-secondary") as w:
        v = await w.verify(ScenarioId.FAILOVER)
    s = failed(v, ScenarioId.FAILOVER)
    assert crit(v, ScenarioId.FAILOVER, "secondary-runner") is False
    assert "job-picked-up" not in {c.id for c in s.criteria}


def test_the_reason_text_is_the_documented_one() -> None:
    reason = texts.JOB_NOT_PICKED_UP.format(
        job="deploy",
        waited="20",
        labels="self-hosted, production, primary",
        online=texts.JOB_NOT_PICKED_UP_RUNNER.format(name="gha-a", labels="self-hosted, linux, lane-a"),
    )
    assert reason == (
        "deploy waited 20 s: no online runner has all of [self-hosted, production, primary]; "
        "online: gha-a [self-hosted, linux, lane-a]"
    )
