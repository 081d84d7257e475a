"""The five scenarios on a simulated staging world: healthy verdicts, and each lab fault's verdict and reason."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from bot.github.models import WorkflowJob, WorkflowRun
from bot.model import ScenarioConclusion, ScenarioId, VerificationConclusion
from bot.ports import PanelQueryResult, PromAlert
from bot.texts import reports as texts
from scenarios.monitoring import DASHBOARD_WAIT_SCRAPES, POLL_SECONDS
from tests.scenarios.pipeline import DEPLOY_LOG_ERROR
from tests.scenarios.verdicts import crit, criteria, verify_one
from tests.scenarios.world import PRIMARY, SECONDARY, UNIT, Chaos, world


async def test_healthy_world_passes_all_five_and_restores_everything(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        v = await w.verify()
        assert [s.conclusion for s in v.scenarios] == [ScenarioConclusion.PASSED] * 5, [s.reason for s in v.scenarios]
        assert v.conclusion is VerificationConclusion.SUCCESS
        assert all(r.ok and not r.after_restart for r in v.restorations)
        assert len(v.restorations) == 3  # failover + monitoring stop the primary, rollback stops the backend
        assert all(w.ssh.units[h][u] for h in w.ssh.units for u in w.ssh.units[h])
        assert v.github_api_calls == len(w.repo.calls)
        assert w.reporter.finished_list[-1].verification_id == "v-1"
        normal = v.scenario(ScenarioId.NORMAL_DEPLOY)
        assert normal.measurements["deployment_duration_s"] == 5.0
        assert normal.runs[0].jobs[1].runner_name == PRIMARY
        assert v.scenario(ScenarioId.FAILOVER).runs[0].jobs[1].runner_name == SECONDARY
        concurrency = v.scenario(ScenarioId.CONCURRENCY).measurements
        assert (concurrency["runs_overlap_s"], concurrency["deploy_jobs_overlap_s"]) == (0, 0)
        restored = next(c for c in v.scenario(ScenarioId.ROLLBACK).criteria if c.id == "no-partial-deployment")
        assert (restored.passed, restored.observed, restored.threshold) == (True, [], "none")
        assert restored.description.endswith("(backend, frontend).")
        # The deploy job's log was read and judged in both scenarios that deploy on a chosen runner.
        for sid, runner in ((ScenarioId.NORMAL_DEPLOY, PRIMARY), (ScenarioId.FAILOVER, SECONDARY)):
            logged = {c.id: (c.passed, c.observed) for c in v.scenario(sid).criteria if c.id.startswith("deploy-log")}
            assert logged == {"deploy-log-clean": (True, 0), "deploy-log-runner": (True, runner)}, sid


@dataclass(frozen=True)
class FaultVerdict:
    """A lab fault, the scenario it must fail, and what that scenario's verdict must say."""

    fault: str
    scenario: ScenarioId
    criteria: dict[str, bool | None]
    reason: str | None = None  # the whole reason, where it is pinned
    reason_has: str = ""  # a part of the reason
    measurements: dict[str, float] = field(default_factory=dict)


FAULT_VERDICTS = (
    FaultVerdict(
        "slow-deploy", ScenarioId.NORMAL_DEPLOY, {"deployment-duration": False},
        reason="The deploy job took 30 s; the threshold is 20 s.", measurements={"deployment_duration_s": 30.0},
    ),
    FaultVerdict(
        "no-secondary", ScenarioId.FAILOVER, {"primary-offline": True, "primary-restored": True},
        reason="No runner took the deploy job within 24 s (the failover threshold is 8 s).",
    ),
    # select-runner: 1 s pickup + 1 s work; the secondary then needs 15 s to take the deploy job
    FaultVerdict(
        "slow-failover", ScenarioId.FAILOVER, {"secondary-runner": True, "failover-latency": False},
        reason="Failover took 17 s from run creation to the deploy job starting; the threshold is 8 s.",
        measurements={"failover_latency_s": 17.0},
    ),
    FaultVerdict(
        "no-rollback", ScenarioId.ROLLBACK,
        {"health-check-failed": True, "rollback-ran": False, "version-restored": False, "incident-issue": False},
        reason_has="not the previous version v1.0",
    ),
    # The rollback restores the backend only: the frontend keeps the failed version (the run's test id).
    FaultVerdict(
        "partial-rollback", ScenarioId.ROLLBACK,
        {"rollback-ran": True, "version-restored": True, "incident-issue": True, "backend-restored": True,
         "no-partial-deployment": False},
        reason_has=", not the previous version v1.0: only the backend was rolled back.",
    ),
    FaultVerdict(
        "redis-down", ScenarioId.NORMAL_DEPLOY,
        {"backend-health": False, "health-check-job": False, "primary-runner": True},
        reason_has="reports DOWN (db UP, redis DOWN)",
    ),
    FaultVerdict(
        "deploy-log-error", ScenarioId.NORMAL_DEPLOY,
        {"deploy-log-clean": False, "deploy-log-runner": True, "run-succeeded": True, "primary-runner": True},
        reason=texts.DEPLOY_LOG_ERRORS.format(count=1, first=DEPLOY_LOG_ERROR),
    ),
    FaultVerdict(
        "missing-alert-rule", ScenarioId.MONITORING, {"alert-rules": False},
        reason="Prometheus lacks the alert rule DeploymentDurationHigh.",
    ),
    FaultVerdict(
        "no-notification", ScenarioId.MONITORING,
        {"alert-fires": True, "routed-to-oncall": False, "notification-sent": False, "alert-resolves": True},
    ),
)  # fmt: skip


@pytest.mark.parametrize("expected", FAULT_VERDICTS, ids=lambda e: e.fault)
async def test_each_lab_fault_fails_its_scenario_with_its_criteria_and_reason(
    tmp_path: Path, expected: FaultVerdict
) -> None:
    _, _, s = await verify_one(tmp_path, expected.scenario, expected.fault)
    assert s.conclusion is ScenarioConclusion.FAILED
    assert criteria(s, *expected.criteria) == expected.criteria
    if expected.reason is not None:
        assert s.reason == expected.reason
    assert expected.reason_has in (s.reason or "")
    assert {m: s.measurements[m] for m in expected.measurements} == expected.measurements


async def test_deploy_log_error_fails_normal_deploy_on_deploy_log_clean_and_nothing_else(tmp_path: Path) -> None:
    async with world(tmp_path, "deploy-log-error") as w:
        v = await w.verify()
    failing = {s.id: [c.id for c in s.criteria if c.passed is not True] for s in v.scenarios}
    assert failing == {sid: [] for sid in failing} | {ScenarioId.NORMAL_DEPLOY: ["deploy-log-clean"]}
    assert [s.conclusion for s in v.scenarios] == [ScenarioConclusion.FAILED] + [ScenarioConclusion.PASSED] * 4


async def test_no_concurrency_fails_concurrency_on_overlap(tmp_path: Path) -> None:
    async with world(tmp_path, "no-concurrency") as w:
        # Without the group both runs deploy at once: let the secondary carry the primary label too.
        w.repo.runners[SECONDARY] = replace(w.repo.runners[SECONDARY], labels=("self-hosted", "production", "primary"))
        v = await w.verify(ScenarioId.CONCURRENCY)
    s = v.scenario(ScenarioId.CONCURRENCY)
    assert s.conclusion is ScenarioConclusion.FAILED
    assert crit(v, ScenarioId.CONCURRENCY, "no-overlap") is False
    assert crit(v, ScenarioId.CONCURRENCY, "second-held") is False
    assert crit(v, ScenarioId.CONCURRENCY, "first-completed") is True
    assert s.measurements["deploy_jobs_overlap_s"] == 5.0
    assert "ran at the same time for 5 s" in (s.reason or "")


async def test_no_secondary_cancels_the_stranded_run_and_restores_the_primary(tmp_path: Path) -> None:
    w, v, s = await verify_one(tmp_path, ScenarioId.FAILOVER, "no-secondary")
    assert w.repo.cancelled == [s.runs[0].run_id]
    assert s.runs[0].conclusion == "cancelled"
    assert all(r.ok for r in v.restorations)


async def test_no_rollback_leaves_the_backend_running(tmp_path: Path) -> None:
    w, _, _ = await verify_one(tmp_path, ScenarioId.ROLLBACK, "no-rollback")
    assert w.backend_running()


async def test_partial_rollback_names_the_frontend_left_on_the_failed_version(tmp_path: Path) -> None:
    w, _, s = await verify_one(tmp_path, ScenarioId.ROLLBACK, "partial-rollback")
    left = next(c for c in s.criteria if c.id == "no-partial-deployment")
    failed_version = w.frontend_versions[-1]
    assert failed_version != "v1.0" and w.versions[-1] == "v1.0"  # the world as the fault left it
    assert (left.passed, left.observed, left.threshold) == (False, ["frontend"], "none")
    assert (
        f"After the rollback, the frontend reports version {failed_version}, not the previous version v1.0: "
        "only the backend was rolled back."
    ) in (s.reason or "")


async def test_without_a_frontend_version_url_only_the_backend_is_checked_and_the_criterion_says_so(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "partial-rollback", frontend_version=False) as w:
        v = await w.verify(ScenarioId.ROLLBACK)
    checked = next(c for c in v.scenario(ScenarioId.ROLLBACK).criteria if c.id == "no-partial-deployment")
    assert (checked.passed, checked.observed) == (True, [])
    assert checked.description == (
        "After the rollback, every deployed component reports the version it had before "
        "(backend; the frontend is not checked: `frontend.version_url` is not set)."
    )
    assert "http://frontend/version" not in w.probe.calls


async def test_no_rollback_leaves_both_components_on_the_failed_version(tmp_path: Path) -> None:
    _, _, s = await verify_one(tmp_path, ScenarioId.ROLLBACK, "no-rollback")
    left = next(c for c in s.criteria if c.id == "no-partial-deployment")
    assert (left.passed, left.observed) == (False, ["backend", "frontend"])


async def test_concurrency_passes_alone(tmp_path: Path) -> None:
    _, _, s = await verify_one(tmp_path, ScenarioId.CONCURRENCY)
    assert s.conclusion is ScenarioConclusion.PASSED, s.reason
    assert (s.measurements["runs_overlap_s"], s.measurements["deploy_jobs_overlap_s"]) == (0, 0)


async def test_failover_passes_with_latency_from_github_timestamps(tmp_path: Path) -> None:
    _, v, s = await verify_one(tmp_path, ScenarioId.FAILOVER)
    assert s.conclusion is ScenarioConclusion.PASSED, s.reason
    assert s.measurements["failover_latency_s"] == 3.0
    # The configured glob was expanded on the host before the stop; the concrete unit is what was stopped.
    assert [r.fault for r in v.restorations] == [f"sudo systemctl stop {UNIT.format(PRIMARY)}"]


async def test_rollback_passes_and_measures_from_job_timestamps(tmp_path: Path) -> None:
    _, v, s = await verify_one(tmp_path, ScenarioId.ROLLBACK)
    assert s.conclusion is ScenarioConclusion.PASSED, s.reason
    assert s.measurements["rollback_s"] == 4.0  # 1 s pickup + 3 s rollback
    assert v.restorations[0].host == "staging-backend-host" and v.restorations[0].ok


async def test_rollback_too_slow_fails_on_duration(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.timing.rollback_s = 20.0
        v = await w.verify(ScenarioId.ROLLBACK)
    assert crit(v, ScenarioId.ROLLBACK, "rollback-duration") is False
    assert v.scenario(ScenarioId.ROLLBACK).reason == (
        "The rollback took 21 s after the failed health check; the threshold is 15 s."
    )


async def test_deploy_on_the_wrong_runner_and_frontend_down_fail_their_criteria(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.primary = "someone-else"  # select-runner sends the deploy to the secondary
        w.probe.set("http://frontend/", status=502, body="bad gateway")
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = v.scenario(ScenarioId.NORMAL_DEPLOY)
    assert crit(v, ScenarioId.NORMAL_DEPLOY, "primary-runner") is False
    assert crit(v, ScenarioId.NORMAL_DEPLOY, "frontend") is False
    assert "The deploy job ran on production-runner-02, not the primary runner production-runner-01." in (
        s.reason or ""
    )


async def test_monitoring_passes_with_alert_timings(tmp_path: Path) -> None:
    _, _, s = await verify_one(tmp_path, ScenarioId.MONITORING)
    assert s.conclusion is ScenarioConclusion.PASSED, s.reason
    assert s.measurements["alert_fire_s"] == 4.0  # activeAt (stop + 1 s) + for: 3 s
    assert s.measurements["notification_s"] is not None and s.measurements["notification_s"] <= 2.0


async def test_slow_alert_and_lingering_alert_fail_their_criteria(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.prom.rule_list = [r if r.name != "RunnerOffline" else type(r)(r.name, r.group, 40.0, r.expr, {}, {})
                            for r in w.prom.rule_list]  # fmt: skip

        async def never_resolves(running: bool) -> None:
            if not running:
                w.prom.alert_list[:] = [PromAlert("RunnerOffline", "firing", {}, w.clock.now())]

        w._alert = never_resolves  # type: ignore[method-assign]
        v = await w.verify(ScenarioId.MONITORING)
    assert crit(v, ScenarioId.MONITORING, "alert-fires") is False
    assert crit(v, ScenarioId.MONITORING, "alert-resolves") is False


async def test_dashboard_without_data_fails_and_unreachable_grafana_is_an_error(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.grafana.dashboards["verify-staging-runners"].append(PanelQueryResult(9, "Disk usage", 0, 0))
        v = await w.verify(ScenarioId.MONITORING)
        assert crit(v, ScenarioId.MONITORING, "dashboard-data") is False
        assert "Grafana panels without data: Disk usage." in (v.scenario(ScenarioId.MONITORING).reason or "")
        w.grafana.down = True
        v2 = await w.verify(ScenarioId.MONITORING, vid="v-2")
    s = v2.scenario(ScenarioId.MONITORING)
    assert s.conclusion is ScenarioConclusion.ERROR
    assert s.reason == "Preflight: monitoring could not be asked (Grafana unreachable: connection refused)."
    assert v2.restorations == []  # preflight failed: nothing was harmed


async def test_a_panel_whose_data_arrives_on_the_second_query_passes(tmp_path: Path) -> None:
    """The deploy job the verification just ran is not scraped yet: the panel is empty once, then has data."""
    async with world(tmp_path) as w:
        panels = w.grafana.dashboards["verify-staging-runners"]
        fresh = PanelQueryResult(9, "Deploy jobs by runner and conclusion", 0, 0)
        w.grafana.dashboards["verify-staging-runners"] = [*panels, replace(fresh, series=1, points=3)]
        w.grafana.next_answers = [[*panels, fresh]]
        w.grafana.clock = w.clock
        v = await w.verify(ScenarioId.MONITORING)
    assert crit(v, ScenarioId.MONITORING, "dashboard-data") is True
    assert v.scenario(ScenarioId.MONITORING).conclusion is ScenarioConclusion.PASSED
    assert len(w.grafana.asked_at) == 2


async def test_a_panel_that_never_gets_data_fails_with_its_title_within_the_bound(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.grafana.dashboards["verify-staging-runners"].append(PanelQueryResult(9, "Disk usage", 0, 0))
        w.grafana.clock = w.clock
        v = await w.verify(ScenarioId.MONITORING)
    assert crit(v, ScenarioId.MONITORING, "dashboard-data") is False
    assert v.scenario(ScenarioId.MONITORING).reason == "Grafana panels without data: Disk usage."
    scrape = w.settings.environments["staging"].monitoring.scrape_interval
    waited = w.grafana.asked_at[-1] - w.grafana.asked_at[0]
    assert len(w.grafana.asked_at) > 2
    assert 2 * scrape <= waited <= DASHBOARD_WAIT_SCRAPES * scrape + POLL_SECONDS


async def test_preflight_failure_is_an_error_and_harms_nothing(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.repo.set_runner(SECONDARY, status="offline")
        v = await w.verify(ScenarioId.FAILOVER)
    s = v.scenario(ScenarioId.FAILOVER)
    assert s.conclusion is ScenarioConclusion.ERROR
    assert s.reason == "Preflight: the secondary runner production-runner-02 is offline, so nothing was tried."
    assert v.restorations == [] and w.ssh.calls == []
    assert v.conclusion is VerificationConclusion.ERROR


async def test_concurrency_hold_is_proven_from_timestamps_when_the_first_runs_webhooks_are_lost(tmp_path: Path) -> None:
    # Every job webhook of the first run is lost: the bot learns that its deploy started only at reconciliation,
    # after the first run ended and the group released the second one. The snapshot then says `in_progress`, yet
    # the second run's jobs were created after the first ended: it was held, and the verdict must not flip.
    first: list[int] = []

    def lose_first_runs_jobs(obj: WorkflowRun | WorkflowJob) -> bool:
        if isinstance(obj, WorkflowRun) and not first:
            first.append(obj.id)
        return isinstance(obj, WorkflowJob) and bool(first) and obj.run_id == first[0]

    # Reconciliation comes only after the first run has ended (the run takes ~10 s here).
    async with world(tmp_path, chaos=Chaos(drop_if=lose_first_runs_jobs), reconcile_after=30) as w:
        v = await w.verify(ScenarioId.CONCURRENCY)
    s = v.scenario(ScenarioId.CONCURRENCY)
    held = next(c for c in s.criteria if c.id == "second-held")
    assert s.conclusion is ScenarioConclusion.PASSED, s.reason
    assert held.passed is True
    assert str(held.observed).startswith("jobs created "), held.observed
