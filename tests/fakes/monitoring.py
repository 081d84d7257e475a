"""Prometheus, Alertmanager and Grafana stand-ins for unit tests (bot.ports PrometheusPort, AlertmanagerPort,
GrafanaPort): plain lists and counters a test (or a simulated world) sets; `down = True` makes every call raise
MonitoringError as an unreachable server would. `factory(prom, am, grafana)` gives the engine's per-environment
monitoring factory.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.ports import AlertRule, AmAlert, Clock, MonitoringError, PanelQueryResult, PromAlert, Sample
from bot.settings import EnvironmentSettings

T = TypeVar("T")


def rule(name: str, *, for_seconds: float = 0.0, group: str = "verify-staging") -> AlertRule:
    return AlertRule(name=name, group=group, for_seconds=for_seconds, expr="vector(1)", labels={}, annotations={})


def _answer(service: str, down: bool, value: T) -> T:
    """What a reachable server answers (a copy, so a test's later changes don't leak into it)."""
    if down:
        raise MonitoringError(f"{service} unreachable: connection refused")
    return copy.copy(value)


@dataclass
class FakePrometheus:
    rule_list: list[AlertRule] = field(default_factory=list)
    alert_list: list[PromAlert] = field(default_factory=list)
    samples: dict[str, list[Sample]] = field(default_factory=dict)  # expr -> answer
    down: bool = False

    async def rules(self) -> list[AlertRule]:
        return _answer("Prometheus", self.down, self.rule_list)

    async def alerts(self) -> list[PromAlert]:
        return _answer("Prometheus", self.down, self.alert_list)

    async def query(self, expr: str) -> list[Sample]:
        return _answer("Prometheus", self.down, self.samples.get(expr, []))


@dataclass
class FakeAlertmanager:
    alert_list: list[AmAlert] = field(default_factory=list)
    receiver_names: list[str] = field(default_factory=lambda: ["oncall-sre"])
    sent: dict[str, float] = field(default_factory=dict)  # integration -> notifications_total
    failed: dict[str, float] = field(default_factory=dict)
    down: bool = False

    async def alerts(self) -> list[AmAlert]:
        return _answer("Alertmanager", self.down, self.alert_list)

    async def receivers(self) -> list[str]:
        return _answer("Alertmanager", self.down, self.receiver_names)

    async def notifications_sent(self) -> dict[str, float]:
        return _answer("Alertmanager", self.down, self.sent)

    async def notifications_failed(self) -> dict[str, float]:
        return _answer("Alertmanager", self.down, self.failed)


@dataclass
class FakeGrafana:
    """`dashboards[uid]` answers every query; `next_answers`, while not empty, answers the next queries (the
    first one first), as panels whose data arrives later; `asked_at` records when each query came (`clock`)."""

    dashboards: dict[str, list[PanelQueryResult]] = field(default_factory=dict)
    down: bool = False
    next_answers: list[list[PanelQueryResult]] = field(default_factory=list)
    clock: Clock | None = None
    asked_at: list[float] = field(default_factory=list)
    #: When set, every query raises MonitoringError with this text, as the real adapter does on a 401/403.
    refusal: str | None = None

    async def query_dashboard(self, uid: str) -> list[PanelQueryResult]:
        if self.clock is not None:
            self.asked_at.append(self.clock.monotonic())
        if self.refusal is not None:
            raise MonitoringError(self.refusal)
        if self.down:
            raise MonitoringError("Grafana unreachable: connection refused")
        if uid not in self.dashboards:
            raise MonitoringError(f"Grafana has no dashboard {uid}")
        if self.next_answers:
            return list(self.next_answers.pop(0))
        return list(self.dashboards[uid])


MonitoringTriple = tuple[FakePrometheus, FakeAlertmanager, FakeGrafana]


def factory(
    prom: FakePrometheus, am: FakeAlertmanager, grafana: FakeGrafana
) -> Callable[[EnvironmentSettings], MonitoringTriple]:
    return lambda _env: (prom, am, grafana)
