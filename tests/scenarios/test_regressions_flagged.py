"""Issue 15 §3 in the engine: regressions are judged once the scenarios have run and before the verdict, so a
failover that passes its threshold but is far slower than its baseline is flagged (and, with `fail`, fails)."""

from __future__ import annotations

from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId, Verification, VerificationConclusion
from bot.regressions import BaselineSource, flag_regressions
from bot.settings import RegressionSettings
from tests.scenarios.world import world
from tests.support.history import FAILOVER, failover_run, record

#: Five earlier passing runs that failed over at once: the simulated world's failover is slower than that.
BASELINE = 0.01


async def test_a_slower_failover_within_the_threshold_fails_as_regressed_before_the_reports(tmp_path: Path) -> None:
    rules = RegressionSettings(ratio=0.5, seconds=0.1, runs=10, min_runs=5, fail=True)

    async def assess(v: Verification, source: BaselineSource) -> None:
        await flag_regressions(v, source=source, rules=rules)

    async with world(tmp_path, assess=assess) as w:
        await record(w.store.inner, *(failover_run(i, BASELINE) for i in range(1, 6)))
        v = await w.verify(ScenarioId.FAILOVER)
    failover = v.scenario(ScenarioId.FAILOVER)
    latency = failover.measurements[FAILOVER]
    assert latency is not None and latency < w.settings.environments["staging"].thresholds.failover
    assert [(r.measurement, r.baseline, r.runs) for r in failover.regressions] == [(FAILOVER, BASELINE, 5)]
    assert failover.conclusion is ScenarioConclusion.FAILED and v.conclusion is VerificationConclusion.FAILURE
    assert failover.reason is not None and failover.reason.startswith(f"{FAILOVER} regressed")
    # The reports saw the same: the regression was there before the final report went out.
    assert w.reporter.finished_list[-1].scenario(ScenarioId.FAILOVER).regressions == failover.regressions


async def test_a_history_that_cannot_be_read_changes_no_verdict(tmp_path: Path) -> None:
    async def assess(v: Verification, source: BaselineSource) -> None:
        raise OSError("database is locked")

    async with world(tmp_path, assess=assess) as w:
        v = await w.verify(ScenarioId.FAILOVER)
    assert v.conclusion is VerificationConclusion.SUCCESS
    assert v.scenario(ScenarioId.FAILOVER).regressions == []
