"""The scenario engine and the five staging scenarios; `ScenarioEngine` and `recover` are what the CLI wires."""

from __future__ import annotations

from scenarios.engine import EngineBusy, EngineStore, ScenarioEngine
from scenarios.recovery import RecoveryStore, recover

__all__ = ["EngineBusy", "EngineStore", "RecoveryStore", "ScenarioEngine", "recover"]
