"""A whole simulated staging world for scenario tests, on virtual time: fake GitHub with the pipeline, SSH hosts
whose units drive runners and the backend, health endpoints, monitoring whose alert follows the primary runner,
the real SQLite store and the engine. `faults` take the contract's lab fault names; `chaos` disturbs webhooks.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.github.models import Runner, WorkflowJob, WorkflowRun
from bot.model import SCENARIO_ORDER, ScenarioId, Verification
from bot.ports import AmAlert, PanelQueryResult, ProgressEvent, PromAlert, VerificationRequest
from bot.settings import (
    BackendSettings,
    EnvironmentSettings,
    FrontendSettings,
    MonitoringSettings,
    RunnerRole,
    RunnerSettings,
    Settings,
    SSHHost,
    Thresholds,
    WorkflowSettings,
)
from bot.store import Store
from scenarios import ScenarioEngine
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHubApp, FakeGitHubRepo
from tests.fakes.monitoring import FakeAlertmanager, FakeGrafana, FakePrometheus, factory, rule
from tests.fakes.probe import FakeProbe
from tests.fakes.ssh import FakeSSH
from tests.scenarios.clocked_store import ClockedStore
from tests.scenarios.pipeline import FakePipeline, Hooks, Timing
from tests.support.settings import unit_settings

REPO = "paws360/paws360"
PRIMARY, SECONDARY, BACKEND = "production-runner-01", "production-runner-02", "staging-backend-host"
UNIT = "actions.runner.paws360-paws360.{}.service"
HEALTH, INFO, FRONT = "http://backend/actuator/health", "http://backend/actuator/info", "http://frontend/"
FRONT_VERSION = "http://frontend/version"
LAB_THRESHOLDS = Thresholds(
    deployment=20, failover=8, health_check=15, rollback=15, runner_offline_detection=10,
    alert_fire=25, notification=10, run_timeout=120, queue=12,
)  # fmt: skip


def environment(thresholds: Thresholds = LAB_THRESHOLDS, *, frontend_version: bool = True) -> EnvironmentSettings:
    return EnvironmentSettings(
        name="staging",
        workflow=WorkflowSettings(file="ci.yml", ref=None, inputs={"environment": "staging", "test_mode": "true"}),
        runners=(
            RunnerSettings(PRIMARY, RunnerRole.PRIMARY, ("self-hosted", "production", "primary"), PRIMARY,
                           "actions.runner.*.service"),
            RunnerSettings(SECONDARY, RunnerRole.SECONDARY, ("self-hosted", "production", "secondary"), SECONDARY,
                           "actions.runner.*.service"),
        ),
        backend=BackendSettings(host=BACKEND, service="paws360-backend", health_url=HEALTH, info_url=INFO),
        frontend=FrontendSettings(url=FRONT, version_url=FRONT_VERSION if frontend_version else None),
        monitoring=MonitoringSettings("http://prom", "http://am", "http://grafana", "verify-staging-runners"),
        thresholds=thresholds,
    )  # fmt: skip


def settings(db: str, env: EnvironmentSettings | None = None, *, reconcile_after: float = 5) -> Settings:
    return unit_settings(
        database=db,
        environments={"staging": env or environment()},
        ssh_hosts={h: SSHHost("127.0.0.1") for h in (PRIMARY, SECONDARY, BACKEND)},
        reconcile_after=reconcile_after,
    )


@dataclass
class Chaos:
    """How webhooks are disturbed: dropped, duplicated, delayed (so reordered). Seeded: reproducible."""

    drop: float = 0.0
    duplicate: float = 0.0
    max_delay: float = 0.0
    seed: int = 0
    #: Drop exactly the deliveries this picks (a targeted loss), on top of the random share.
    drop_if: Callable[[WorkflowRun | WorkflowJob], bool] | None = None


@dataclass
class RecordingReporter:
    started_ids: list[str] = field(default_factory=list)
    #: (scenario, its latest step) at every progress report: what the check runs show as "Running: <step>".
    steps: list[tuple[ScenarioId | None, str | None]] = field(default_factory=list)
    finished_list: list[Verification] = field(default_factory=list)

    async def started(self, verification: Verification) -> None:
        self.started_ids.append(verification.verification_id)

    async def progress(self, event: ProgressEvent) -> None:
        latest = event.verification.scenario(event.scenario).steps[-1:] if event.scenario is not None else []
        self.steps.append((event.scenario, latest[0].name if latest else None))

    async def finished(self, verification: Verification) -> None:
        self.finished_list.append(verification)


@dataclass
class World:
    clock: FakeClock
    repo: FakeGitHubRepo
    app: FakeGitHubApp
    ssh: FakeSSH
    probe: FakeProbe
    prom: FakePrometheus
    am: FakeAlertmanager
    grafana: FakeGrafana
    pipeline: FakePipeline
    store: ClockedStore
    settings: Settings
    reporter: RecordingReporter
    faults: frozenset[str]
    chaos: Chaos
    engine: ScenarioEngine | None = None
    versions: list[str] = field(default_factory=lambda: ["v0.9", "v1.0"])  # previous, current
    frontend_versions: list[str] = field(default_factory=lambda: ["v0.9", "v1.0"])  # the frontend's
    delivered: int = 0
    #: Seconds until GitHub reports a stopped runner offline / a started one online; None: it never does.
    runner_offline_after: float | None = 1.0
    runner_online_after: float | None = 1.0
    #: The backend comes back broken when its service is started again: it answers 503, DOWN.
    backend_broken_after_restart: bool = False
    _backend_restarted: bool = False

    # ------------------------------------------------------------------------------------------- staging state
    def backend_running(self) -> bool:
        return self.ssh.running(BACKEND, "paws360-backend")

    def health(self) -> tuple[int, Any] | None:
        if not self.backend_running():
            return None
        if self.backend_broken_after_restart and self._backend_restarted:
            return 503, {"status": "DOWN", "components": {"db": {"status": "DOWN"}, "redis": {"status": "UP"}}}
        redis = "DOWN" if "redis-down" in self.faults else "UP"
        status = "UP" if redis == "UP" else "DOWN"
        body = {"status": status, "components": {"db": {"status": "UP"}, "redis": {"status": redis}}}
        return (200 if status == "UP" else 503), body

    def backend_healthy(self) -> bool:
        answer = self.health()
        return answer is not None and answer[0] == 200

    def deployed(self, version: str) -> None:
        self.versions = [self.versions[-1], version]
        self.frontend_versions = [self.frontend_versions[-1], version]

    def rolled_back(self, components: tuple[str, ...]) -> None:
        if "backend" in components:
            self.versions = [self.versions[0], self.versions[0]]
        if "frontend" in components:
            self.frontend_versions = [self.frontend_versions[0], self.frontend_versions[0]]

    # ------------------------------------------------------------------------------------------- webhooks
    def deliver(self, obj: WorkflowRun | WorkflowJob) -> None:
        rng = self._rng
        if rng.random() < self.chaos.drop or (self.chaos.drop_if is not None and self.chaos.drop_if(obj)):
            return
        copies = 2 if rng.random() < self.chaos.duplicate else 1
        for _ in range(copies):
            delay = rng.uniform(0, self.chaos.max_delay)
            if delay == 0:
                self._observe(obj)
            else:
                self._later(delay, obj)

    def _later(self, delay: float, obj: WorkflowRun | WorkflowJob) -> None:
        async def send() -> None:
            await self.clock.sleep(delay)
            self._observe(obj)

        self._spawn(send())

    def _observe(self, obj: WorkflowRun | WorkflowJob) -> None:
        if self.engine is None:
            return
        self.delivered += 1
        if isinstance(obj, WorkflowRun):
            self.engine.observe_run(installation_id=1001, repository=REPO, run=obj)
        else:
            self.engine.observe_job(installation_id=1001, repository=REPO, job=obj)

    _rng: random.Random = field(default_factory=random.Random)
    _tasks: set[asyncio.Future[None]] = field(default_factory=set)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------------------------------- runners, alerts
    def unit_changed(self, host: str, unit: str, running: bool) -> None:
        if host in (PRIMARY, SECONDARY):
            self._spawn(self._runner_status(host, running))
        if host == PRIMARY:
            self._spawn(self._alert(running))
        if host == BACKEND and running:
            self._backend_restarted = True

    async def _runner_status(self, name: str, running: bool) -> None:
        lag = self.runner_online_after if running else self.runner_offline_after
        if lag is None:
            return  # GitHub never notices
        await self.clock.sleep(lag)  # GitHub notices a stopped runner a moment later
        if self.ssh.running(name, UNIT.format(name)) == running:
            self.repo.set_runner(name, status="online" if running else "offline")

    async def _alert(self, running: bool) -> None:
        if running:
            await self.clock.sleep(2.0)
            self.prom.alert_list.clear()
            self.am.alert_list.clear()
            return
        stopped = self.clock.now()
        await self.clock.sleep(4.0)  # exporter scrape (1 s) + the rule's `for:` (3 s)
        if self.ssh.running(PRIMARY, UNIT.format(PRIMARY)):
            return
        labels = {"alertname": "RunnerOffline", "runner": PRIMARY}
        self.prom.alert_list[:] = [PromAlert("RunnerOffline", "firing", labels, stopped + timedelta(seconds=1))]
        routed = "default" if "no-notification" in self.faults else "oncall-sre"
        self.am.alert_list[:] = [AmAlert("RunnerOffline", "active", labels, (routed,), self.clock.now())]
        await self.clock.sleep(1.0)
        if "no-notification" not in self.faults:
            self.am.sent["webhook"] = self.am.sent.get("webhook", 0.0) + 1

    # ------------------------------------------------------------------------------------------- running
    async def verify(self, *scenarios: ScenarioId, vid: str = "v-1") -> Verification:
        assert self.engine is not None
        await self.engine.start(request(vid, scenarios or SCENARIO_ORDER))
        await self.engine.wait(vid)
        loaded = await self.store.load_verification(vid)
        assert loaded is not None
        return loaded


def request(vid: str, scenarios: tuple[ScenarioId, ...]) -> VerificationRequest:
    return VerificationRequest(
        verification_id=vid, installation_id=1001, repository=REPO, pull_request=42, head_sha="a" * 40,
        ref="001-github-runner-deploy", environment="staging", requested_by="alice-admin", scenarios=scenarios,
    )  # fmt: skip


def _timing(faults: frozenset[str]) -> Timing:
    timing = Timing()
    if "slow-deploy" in faults:
        timing.deploy_s = 30.0
    if "slow-failover" in faults:
        timing.failover_pickup_s = 15.0
    return timing


@asynccontextmanager
async def world(
    tmp_path: Path,
    *faults: str,
    chaos: Chaos | None = None,
    thresholds: Thresholds = LAB_THRESHOLDS,
    reconcile_after: float = 5,
    frontend_version: bool = True,
    assess: Callable[[Verification, ClockedStore], Awaitable[None]] | None = None,
    store_location: str | None = None,
) -> AsyncIterator[World]:
    """Build the world, drive virtual time while the block runs, and stop everything afterwards.

    `frontend_version=False`: the settings name no `frontend.version_url` (the frontend still serves one);
    `assess`: what the engine runs over the results before the verdict (issue 15 §3), given the store;
    `store_location`: the store elsewhere than a SQLite file in `tmp_path` (a PostgreSQL URL)."""
    fault_set = frozenset(faults)
    clock = FakeClock()
    app = FakeGitHubApp(clock=clock)
    repo = app.repo(installation_id=1001, repository=REPO)
    secondary_labels = ("self-hosted", "secondary") if "no-secondary" in fault_set else (
        "self-hosted", "production", "secondary")  # fmt: skip
    primary_labels = ("self-hosted", "primary") if "label-mismatch" in fault_set else (
        "self-hosted", "production", "primary")  # fmt: skip
    repo.runners = {
        PRIMARY: Runner(1, PRIMARY, "online", False, primary_labels),
        SECONDARY: Runner(2, SECONDARY, "online", False, secondary_labels),
    }
    ssh = FakeSSH(
        units={
            PRIMARY: {UNIT.format(PRIMARY): True},
            SECONDARY: {UNIT.format(SECONDARY): True},
            BACKEND: {"paws360-backend": True},
        }
    )
    rules = ["RunnerOffline", "DeploymentFailed", "DeploymentDurationHigh", "JobQueueTimeHigh"]
    if "missing-alert-rule" in fault_set:
        rules.remove("DeploymentDurationHigh")
    prom = FakePrometheus(rule_list=[rule(n, for_seconds=3.0) for n in rules])
    am = FakeAlertmanager(receiver_names=["oncall-sre", "default"])
    panels = [PanelQueryResult(i, t, 1, 10) for i, t in enumerate(["Runner status", "Deployments", "Duration"], 1)]
    grafana = FakeGrafana(dashboards={"verify-staging-runners": panels})
    raw = await Store.open(store_location or str(tmp_path / "verify-staging.db"))
    store = ClockedStore(raw, clock)
    env = environment(thresholds, frontend_version=frontend_version)
    w = World(
        clock=clock, repo=repo, app=app, ssh=ssh, probe=FakeProbe(), prom=prom, am=am, grafana=grafana,
        pipeline=FakePipeline(repo=repo, clock=clock, hooks=Hooks(lambda: False, lambda v: None, lambda c: None)),
        store=store, reporter=RecordingReporter(),
        settings=settings(str(tmp_path / "verify-staging.db"), env, reconcile_after=reconcile_after),
        faults=fault_set, chaos=chaos or Chaos(),
    )  # fmt: skip
    w._rng = random.Random(w.chaos.seed)
    w.pipeline.hooks = Hooks(w.backend_healthy, w.deployed, w.rolled_back)
    w.pipeline.timing = _timing(fault_set)
    w.pipeline.concurrency = "no-concurrency" not in fault_set
    w.pipeline.rollback = "no-rollback" not in fault_set
    w.pipeline.deploy_log_error_on = frozenset({PRIMARY} if "deploy-log-error" in fault_set else ())
    if "partial-rollback" in fault_set:
        w.pipeline.rollback_restores = ("backend",)
    w.pipeline.attach()
    w.probe.route(HEALTH, w.health)
    w.probe.route(INFO, lambda: (200, {"build": {"version": w.versions[-1]}}) if w.backend_running() else None)
    w.probe.set(FRONT, status=200, body="<html>paws360</html>")
    w.probe.route(FRONT_VERSION, lambda: (200, {"version": w.frontend_versions[-1]}))
    repo.listeners.append(w.deliver)
    ssh.on_change.append(w.unit_changed)
    w.engine = ScenarioEngine(
        settings=w.settings, store=store, github=app, ssh=ssh, probe=w.probe, monitoring=factory(prom, am, grafana),
        reporter=w.reporter, clock=clock, assess=(lambda v: assess(v, store)) if assess else None,
    )  # fmt: skip
    try:
        async with clock.running():
            yield w
            await w.engine.stop()
            await w.pipeline.stop()
            await w.close()
    finally:
        await raw.close()
