"""The monitoring scenario's `dashboard-data` and the verification health panels (issue 15 §4): a panel that shows
only verify-staging's own verdicts has no data before a first verification completes, so it is listed as not
judged instead of failing the verification; a staging panel without data still fails it."""

from __future__ import annotations

from pathlib import Path

from bot.model import ScenarioId
from bot.ports import PanelQueryResult
from tests.scenarios.verdicts import crit
from tests.scenarios.world import world

VERDICTS = PanelQueryResult(
    10,
    "Last verdict per environment",
    0,
    0,
    queries=("topk by (environment) (1, max by (environment, conclusion) "
             "(verify_staging_verification_last_timestamp_seconds))",),
)  # fmt: skip


async def test_an_empty_verdict_panel_is_not_judged_and_an_empty_staging_panel_still_fails(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.grafana.dashboards["verify-staging-runners"].append(VERDICTS)
        v = await w.verify(ScenarioId.MONITORING)
        assert crit(v, ScenarioId.MONITORING, "dashboard-data") is True  # failed before: "without data: Last verdict"
        observed = next(c.observed for c in v.scenario(ScenarioId.MONITORING).criteria if c.id == "dashboard-data")
        assert observed["not_judged"] == ["Last verdict per environment"]
        staging = PanelQueryResult(12, "Deploy jobs", 0, 0, queries=("sum(verify_staging_workflow_jobs_total)",))
        w.grafana.dashboards["verify-staging-runners"].append(staging)
        w.grafana.clock = w.clock
        v2 = await w.verify(ScenarioId.MONITORING, vid="v-2")
    assert crit(v2, ScenarioId.MONITORING, "dashboard-data") is False
    assert v2.scenario(ScenarioId.MONITORING).reason == "Grafana panels without data: Deploy jobs."
