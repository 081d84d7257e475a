"""Verification health on `GET /metrics`: each measurement's last value, when each kind of verdict was last reached
per environment, and each environment's schedule period, so Prometheus can alert on a failing or stale staging.

The gauges are set when a verification completes and, at start-up, from the store's latest completed
verifications: a restart neither forgets the last passing verification (StagingVerificationStale would fire) nor
re-announces an old one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Gauge

from bot.model import Verification
from bot.settings_model import EnvironmentSettings

#: The trigger a verification without one (before scheduled verifications existed) was started by.
#: The verification health metrics: a dashboard panel reading only these shows verify-staging's own verdicts.
HEALTH_METRICS = frozenset(
    {
        "verify_staging_measurement_seconds",
        "verify_staging_verification_last_timestamp_seconds",
        "verify_staging_schedule_period_seconds",
    }
)
_BOT_METRIC = re.compile(r"\bverify_staging_[a-z_]+")
#: How many completed verifications start-up reads back (newest first) to set the gauges.
RESTORE_LIMIT = 500


class VerificationHealth:
    """The verification health gauges, in the bot's metrics registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.measurement = Gauge(
            "verify_staging_measurement_seconds",
            "The last value of each measurement of a completed verification (failover latency, deployment time...).",
            ["environment", "scenario", "measurement"],
            registry=registry,
        )
        self.last_timestamp = Gauge(
            "verify_staging_verification_last_timestamp_seconds",
            "Unix time the last verification with this environment, trigger and conclusion completed.",
            ["environment", "trigger", "conclusion"],
            registry=registry,
        )
        self.schedule_period = Gauge(
            "verify_staging_schedule_period_seconds",
            "The time between two scheduled verifications of the environment (environments.<env>.schedule.cron).",
            ["environment"],
            registry=registry,
        )
        # When each gauge's value was measured: an older verification (start-up reads them back) never overwrites
        # a newer one.
        self._measured_at: dict[tuple[str, ...], float] = {}

    def record(self, verification: Verification) -> None:
        """Sets the gauges from one completed verification (one not yet completed changes nothing)."""
        if verification.completed_at is None or verification.conclusion is None:
            return
        at = verification.completed_at.timestamp()
        env = verification.environment
        verdict = (env, verification.trigger.value, verification.conclusion.value)
        if self._newer(("verdict", *verdict), at):
            self.last_timestamp.labels(*verdict).set(at)
        for scenario in verification.scenarios:
            for name, value in scenario.measurements.items():
                labels = (env, scenario.id.value, name)
                if value is not None and self._newer(("measurement", *labels), at):
                    self.measurement.labels(*labels).set(value)

    def restore(self, verifications: Iterable[Verification]) -> None:
        """Sets the gauges from verifications completed before this process started (any order)."""
        for verification in verifications:
            self.record(verification)

    def schedule_periods(self, periods: Mapping[str, float]) -> None:
        for environment, seconds in periods.items():
            self.schedule_period.labels(environment=environment).set(seconds)

    def _newer(self, key: tuple[str, ...], at: float) -> bool:
        if self._measured_at.get(key, float("-inf")) > at:
            return False
        self._measured_at[key] = at
        return True


def schedule_periods(environments: Mapping[str, EnvironmentSettings]) -> dict[str, float]:
    """Each scheduled environment's period in seconds (environments without a schedule are left out)."""
    return {name: env.schedule.period.total_seconds() for name, env in environments.items() if env.schedule is not None}


def shows_verdicts_only(queries: Iterable[str]) -> bool:
    """Whether a dashboard panel with these PromQL queries reads only the verification health metrics: it has data
    once a verification has completed, so the monitoring scenario's `dashboard-data` does not judge it (a first
    verification would otherwise fail for a panel only its own completion fills)."""
    names = {name for query in queries for name in _BOT_METRIC.findall(query)}
    return bool(names) and names <= HEALTH_METRICS
