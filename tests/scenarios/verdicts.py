"""Reading a scenario's verdict in tests: run one scenario on a fresh world, and compare its criteria at once."""

from __future__ import annotations

from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId, ScenarioResult, Verification
from tests.scenarios.world import World, world


def crit(v: Verification, scenario: ScenarioId, cid: str) -> bool | None:
    return next(c.passed for c in v.scenario(scenario).criteria if c.id == cid)


def criteria(s: ScenarioResult, *ids: str) -> dict[str, bool | None]:
    """The named criteria's outcomes, to compare with one dict instead of a line per criterion."""
    passed = {c.id: c.passed for c in s.criteria}
    return {cid: passed[cid] for cid in ids}


def failed(v: Verification, scenario: ScenarioId) -> ScenarioResult:
    s = v.scenario(scenario)
    assert s.conclusion is ScenarioConclusion.FAILED, (s.conclusion, s.reason)
    return s


async def verify_one(tmp_path: Path, scenario: ScenarioId, *faults: str) -> tuple[World, Verification, ScenarioResult]:
    """Verify one scenario on a world with these lab faults; the world is stopped when this returns."""
    async with world(tmp_path, *faults) as w:
        v = await w.verify(scenario)
    return w, v, v.scenario(scenario)
