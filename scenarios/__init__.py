"""The scenario engine and the five staging scenarios; `build_engine` and `recover` are what the CLI wires."""

from __future__ import annotations

from bot.ports import Clock, GitHubApp, HttpProbe, Reporter, SSHPort
from bot.settings import Settings
from scenarios.context import MonitoringFactory
from scenarios.engine import EngineBusy, EngineStore, ScenarioEngine
from scenarios.recovery import RecoveryStore, recover

__all__ = ["EngineBusy", "EngineStore", "RecoveryStore", "ScenarioEngine", "build_engine", "recover"]


def build_engine(
    *,
    settings: Settings,
    store: EngineStore,
    github: GitHubApp,
    ssh: SSHPort,
    probe: HttpProbe,
    monitoring: MonitoringFactory,
    reporter: Reporter,
    clock: Clock,
) -> ScenarioEngine:
    """The engine (bot.ports.Engine plus `wait()` and `stop()`); call `recover()` first at start-up."""
    return ScenarioEngine(
        settings=settings,
        store=store,
        github=github,
        ssh=ssh,
        probe=probe,
        monitoring=monitoring,
        reporter=reporter,
        clock=clock,
    )
