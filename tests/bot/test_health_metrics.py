"""Verification health on /metrics (issue 15 §4): what Prometheus' StagingVerificationFailing and
StagingVerificationStale rules read. All of these fail on the code before it: the series did not exist."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.cron import Cron
from bot.health_metrics import schedule_periods
from bot.metrics import Metrics, MetricsReporter
from bot.model import ScenarioConclusion, ScenarioId, Trigger, Verification, VerificationConclusion
from bot.settings import Settings
from bot.settings_model import ScheduleSettings
from bot.store import Store
from tests.bot.conftest import running_bot
from tests.bot.test_logs_and_metrics import sample
from tests.fakes.clock import EPOCH
from tests.support.settings import REPOSITORY
from tests.support.verifications import conclude, new_verification

MEASUREMENT = "verify_staging_measurement_seconds"
LAST = "verify_staging_verification_last_timestamp_seconds"


def completed(
    *, minutes: float, failover: float, conclusion: VerificationConclusion, trigger: Trigger = Trigger.COMMENT
) -> Verification:
    v = new_verification([ScenarioId.FAILOVER])
    conclude(
        v.scenarios[0],
        ScenarioConclusion.PASSED if conclusion is VerificationConclusion.SUCCESS else ScenarioConclusion.FAILED,
        start=0,
        measurements={"failover_latency_s": failover, "rollback_s": None},
    )
    v = replace(
        v, verification_id=f"v-{minutes}", completed_at=EPOCH + timedelta(minutes=minutes), conclusion=conclusion
    )
    v.trigger = trigger
    return v


def labels(conclusion: str, trigger: str = "comment") -> dict[str, str]:
    return {"environment": "staging", "trigger": trigger, "conclusion": conclusion}


async def test_a_completed_verification_sets_its_measurements_and_its_verdict_time() -> None:
    metrics = Metrics()
    v = completed(minutes=5, failover=3.25, conclusion=VerificationConclusion.SUCCESS)
    await MetricsReporter(metrics).finished(v)
    text = metrics.render().decode()
    failover = {"environment": "staging", "scenario": "failover", "measurement": "failover_latency_s"}
    assert sample(text, MEASUREMENT, failover) == 3.25
    assert sample(text, MEASUREMENT, {**failover, "measurement": "rollback_s"}) is None  # not measured: no sample
    assert sample(text, LAST, labels("success")) == (EPOCH + timedelta(minutes=5)).timestamp()


async def test_the_trigger_label_follows_the_verification_and_each_verdict_keeps_its_own_time() -> None:
    metrics = Metrics()
    reporter = MetricsReporter(metrics)
    await reporter.finished(completed(minutes=1, failover=3, conclusion=VerificationConclusion.SUCCESS))
    await reporter.finished(
        completed(minutes=2, failover=17, conclusion=VerificationConclusion.FAILURE, trigger=Trigger.SCHEDULE)
    )
    text = metrics.render().decode()
    assert sample(text, LAST, labels("success")) == (EPOCH + timedelta(minutes=1)).timestamp()
    assert sample(text, LAST, labels("failure", "schedule")) == (EPOCH + timedelta(minutes=2)).timestamp()
    failover = {"environment": "staging", "scenario": "failover", "measurement": "failover_latency_s"}
    assert sample(text, MEASUREMENT, failover) == 17


def test_an_older_verification_never_overwrites_a_newer_one() -> None:
    metrics = Metrics()
    metrics.health.restore(
        [
            completed(minutes=9, failover=4, conclusion=VerificationConclusion.SUCCESS),
            completed(minutes=3, failover=30, conclusion=VerificationConclusion.SUCCESS),
        ]
    )
    text = metrics.render().decode()
    assert sample(text, LAST, labels("success")) == (EPOCH + timedelta(minutes=9)).timestamp()
    failover = {"environment": "staging", "scenario": "failover", "measurement": "failover_latency_s"}
    assert sample(text, MEASUREMENT, failover) == 4


async def test_after_a_restart_the_gauges_start_from_the_stores_latest_verifications(settings: Settings) -> None:
    store = await Store.open(settings.database)
    try:
        await store.save_verification(completed(minutes=7, failover=2.5, conclusion=VerificationConclusion.SUCCESS))
        running = completed(minutes=8, failover=99, conclusion=VerificationConclusion.SUCCESS)
        await store.save_verification(replace(running, verification_id="running", completed_at=None, conclusion=None))
    finally:
        await store.close()
    async with running_bot(settings) as (runtime, _, session):
        async with session.get(runtime.url + "/metrics") as answer:
            text = await answer.text()
    assert sample(text, LAST, labels("success")) == (EPOCH + timedelta(minutes=7)).timestamp()
    failover = {"environment": "staging", "scenario": "failover", "measurement": "failover_latency_s"}
    assert sample(text, MEASUREMENT, failover) == 2.5


def test_each_scheduled_environment_exports_its_period(settings: Settings) -> None:
    staging = settings.environments["staging"]
    schedule = ScheduleSettings(cron="*/30 * * * *", repository=REPOSITORY, period=Cron.parse("*/30 * * * *").period())
    environments = {"staging": replace(staging, schedule=schedule), "qa": replace(staging, name="qa")}
    assert schedule_periods(environments) == {"staging": 1800.0}
    metrics = Metrics()
    metrics.health.schedule_periods(schedule_periods(environments))
    text = metrics.render().decode()
    assert sample(text, "verify_staging_schedule_period_seconds", {"environment": "staging"}) == 1800.0
    assert sample(text, "verify_staging_schedule_period_seconds", {"environment": "qa"}) is None
