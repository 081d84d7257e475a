"""The five scenarios on a simulated staging world: healthy verdicts, and each lab fault's verdict and reason."""

from __future__ import annotations

from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId, Verification, VerificationConclusion
from tests.scenarios.world import PRIMARY, SECONDARY, world


def crit(v: Verification, scenario: ScenarioId, cid: str) -> bool | None:
    return next(c.passed for c in v.scenario(scenario).criteria if c.id == cid)


async def test_healthy_world_passes_all_five_and_restores_everything(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        v = await w.verify()
        assert [s.conclusion for s in v.scenarios] == [ScenarioConclusion.PASSED] * 5, [s.reason for s in v.scenarios]
        assert v.conclusion is VerificationConclusion.SUCCESS
        assert all(r.ok and not r.after_restart for r in v.restorations)
        assert len(v.restorations) == 3  # failover + monitoring stop the primary, rollback stops the backend
        assert all(w.ssh.units[h][u] for h in w.ssh.units for u in w.ssh.units[h])
        assert v.github_api_calls == w.repo.api_calls
        assert w.reporter.finished_list[-1].verification_id == "v-1"
        normal = v.scenario(ScenarioId.NORMAL_DEPLOY)
        assert normal.measurements["deployment_duration_s"] == 5.0
        assert normal.runs[0].jobs[1].runner_name == PRIMARY
        assert v.scenario(ScenarioId.FAILOVER).runs[0].jobs[1].runner_name == SECONDARY
        assert v.scenario(ScenarioId.CONCURRENCY).measurements["overlap_s"] == 0


async def test_slow_deploy_fails_normal_deploy_on_duration(tmp_path: Path) -> None:
    async with world(tmp_path, "slow-deploy") as w:
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = v.scenario(ScenarioId.NORMAL_DEPLOY)
    assert s.conclusion is ScenarioConclusion.FAILED
    assert crit(v, ScenarioId.NORMAL_DEPLOY, "deployment-duration") is False
    assert s.measurements["deployment_duration_s"] == 30.0
    assert s.reason == "The deploy job took 30 s; the threshold is 20 s."
