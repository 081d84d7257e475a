"""Turns the lab's faults on and off while it runs (`POST /_lab/faults` on the simulated GitHub).

Each part of the world a fault changes registers a switch for its faults: the pipeline (the `Deploy` workflow on
the default branch), the runners' labels, the backend's redis, Prometheus' rules and Alertmanager's routes (both
reloaded with SIGHUP), and the simulated GitHub's REST faults. A fault no part can switch at run time (the webhook
delivery faults) can only be chosen at start and answers 409. Every change is recorded in the truth log
(`fault_changed`).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import yaml

from lab import monitoring
from lab.faults import MISSING_RULE, Fault, Faults
from lab.github.lab_faults import ControlRefused, FaultHandlers, FaultRequest
from lab.pipeline import deploy_workflow
from lab.services.launch import write_backend_state
from lab.sim_setup import flaky_faults, pipeline_params, runner_labels
from lab.truth import Truth

if TYPE_CHECKING:
    from lab.world import World

#: How long Prometheus or Alertmanager may take to serve a config they were told to reload.
RELOAD_TIMEOUT = 20.0


@dataclass(frozen=True)
class FaultState:
    """The active faults, and slow-failover's delay when a request chose one (None: the topology's)."""

    faults: Faults
    failover_seconds: float | None = None


#: Makes its part of the world match the state (called with the new state; the old one is still active on failure).
Switch = Callable[[FaultState], Awaitable[None]]


class FaultControl:
    """The lab's faults at run time: the parts register switches, `change` applies one request."""

    def __init__(self, faults: Faults, truth: Truth) -> None:
        self._state = FaultState(faults)
        self._truth = truth
        self._switches: dict[Fault, Switch] = {}
        self._lock = asyncio.Lock()

    def register(self, faults: Iterable[Fault], switch: Switch) -> None:
        for fault in faults:
            self._switches[fault] = switch

    def active(self) -> list[str]:
        return self._state.faults.names

    def handlers(self) -> FaultHandlers:
        return FaultHandlers(change=self.change, active=self.active)

    async def change(self, request: FaultRequest) -> list[str]:
        """Applies one request; answers the active faults. ControlRefused for an unknown, start-only or bad one."""
        fault = _known(request.fault)
        switch = self._switches.get(fault)
        if switch is None:
            raise ControlRefused(
                409, f"{fault.value} can only be set when the lab starts (python -m lab --fault {fault.value})."
            )
        if request.seconds is not None and (fault is not Fault.SLOW_FAILOVER or not request.on):
            raise ControlRefused(422, "seconds is only for turning slow-failover on (its failover delay).")
        async with self._lock:
            active = set(self._state.faults.active)
            (active.add if request.on else active.discard)(fault)
            seconds = request.seconds if fault is Fault.SLOW_FAILOVER else self._state.failover_seconds
            state = FaultState(Faults(frozenset(active)), seconds if Fault.SLOW_FAILOVER in active else None)
            await switch(state)
            self._state = state
            self._truth.record(
                "fault_changed", fault=fault.value, on=request.on, seconds=request.seconds, active=self.active()
            )
            return self.active()


def _known(name: str) -> Fault:
    try:
        return Fault(name)
    except ValueError:
        known = ", ".join(f.value for f in Fault)
        raise ControlRefused(404, f"unknown fault {name!r}; known faults: {known}.") from None


# ---------------------------------------------------------------------------------------- the world's switches
PIPELINE_FAULTS = (
    Fault.SLOW_FAILOVER,
    Fault.SLOW_DEPLOY,
    Fault.DEPLOY_LOG_ERROR,
    Fault.NO_ROLLBACK,
    Fault.PARTIAL_ROLLBACK,
    Fault.NO_CONCURRENCY,
)


def install_fault_control(world: World) -> FaultControl:
    """Registers every part of `world` a fault changes and answers `/_lab/faults` with it."""
    assert world.github is not None
    github, topo = world.github, world.topology
    control = FaultControl(world.options.faults, world.truth)
    workflow_path = f".github/workflows/{topo.workflow_file}"

    async def pipeline(state: FaultState) -> None:
        params = pipeline_params(topo, state.faults, failover_seconds=state.failover_seconds)
        github.set_workflow(workflow_path, deploy_workflow(params))

    async def labels(state: FaultState) -> None:
        for runner in topo.runners:
            github.set_runner_labels(runner.name, list(runner_labels(topo, state.faults, runner.name)))

    async def redis(state: FaultState) -> None:
        write_backend_state(world, redis_up=Fault.REDIS_DOWN not in state.faults)

    async def flaky(state: FaultState) -> None:
        github.set_flaky(flaky_faults(state.faults))

    control.register(PIPELINE_FAULTS, pipeline)
    control.register((Fault.LABEL_MISMATCH, Fault.NO_SECONDARY), labels)
    control.register((Fault.REDIS_DOWN,), redis)
    control.register((Fault.GITHUB_FLAKY,), flaky)
    if world.monitoring_plan is not None:
        control.register((Fault.MISSING_ALERT_RULE, Fault.NO_NOTIFICATION), _monitoring_switch(world))
    github.set_fault_handlers(control.handlers())
    return control


def monitoring_faults(plan: monitoring.MonitoringPlan, faults: Faults) -> monitoring.MonitoringPlan:
    """The monitoring plan under the faults: missing-alert-rule drops a rule, no-notification routes nowhere."""
    drop = frozenset({MISSING_RULE}) if Fault.MISSING_ALERT_RULE in faults else frozenset()
    return replace(plan, drop_rules=drop, notify=Fault.NO_NOTIFICATION not in faults)


def _monitoring_switch(world: World) -> Switch:
    async def switch(state: FaultState) -> None:
        assert world.monitoring_plan is not None
        plan = world.monitoring_plan = monitoring_faults(world.monitoring_plan, state.faults)
        _, am_file = monitoring.write_configs(plan)
        groups = _yaml(plan.workdir / "alerts.yml")["groups"]
        rules = {str(r["alert"]) for g in groups for r in g["rules"] if "alert" in r}
        receivers = _receivers(_yaml(am_file)["route"])
        for name in ("prometheus", "alertmanager"):
            _reload(world.monitoring_procs[name])
        await asyncio.gather(
            _until(lambda: _served_rules(world.urls["prometheus"]) == rules, what="Prometheus to load its rules"),
            _until(
                lambda: _served_receivers(world.urls["alertmanager"]) == receivers,
                what="Alertmanager to load its routes",
            ),
        )

    return switch


def _reload(proc: subprocess.Popen[bytes]) -> None:
    # Prometheus and Alertmanager both reload their configuration files on SIGHUP (their docs, "Configuration").
    proc.send_signal(signal.SIGHUP)


def _yaml(path: Any) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _receivers(route: dict[str, Any]) -> set[str]:
    return {str(route.get("receiver"))} | {r for child in route.get("routes") or [] for r in _receivers(child)}


def _served_rules(prometheus_url: str) -> set[str] | None:
    try:
        groups = monitoring.get_json(prometheus_url + "/api/v1/rules")["data"]["groups"]
    except (OSError, ValueError, KeyError):
        return None
    return {str(r["name"]) for g in groups for r in g["rules"] if r.get("type") == "alerting"}


def _served_receivers(alertmanager_url: str) -> set[str] | None:
    try:
        original = monitoring.get_json(alertmanager_url + "/api/v2/status")["config"]["original"]
    except (OSError, ValueError, KeyError):
        return None
    return _receivers(dict(yaml.safe_load(original))["route"])


async def _until(check: Callable[[], bool], *, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RELOAD_TIMEOUT
    while not await asyncio.to_thread(check):
        if loop.time() > deadline:
            raise ControlRefused(503, f"timed out after {RELOAD_TIMEOUT:.0f} s waiting for {what}.")
        await asyncio.sleep(0.2)
