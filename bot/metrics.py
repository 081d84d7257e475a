"""The bot's Prometheus metrics (`GET /metrics`): deliveries, scenario results, workflow jobs, runners and
verification health (bot/health_metrics.py).

Each Metrics object has its own registry, so two bots in one process (tests, the demo) never share counters.
Label values that come from outside (job and runner names) are capped: past `max_label_values` distinct values a
label reads `other`, so a repository with generated job names cannot blow up Prometheus.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.github.models import WorkflowJob
from bot.health_metrics import VerificationHealth
from bot.model import ScenarioConclusion, ScenarioId, Verification
from bot.ports import ProgressEvent

CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"
# Deployments are judged against 600 s (DeploymentDurationHigh), so 600 must be a bucket boundary.
DURATION_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)
QUEUE_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
JOB_LABELS = ("repository", "job", "runner", "conclusion")


class DeliveryOutcome(StrEnum):
    """What the web server did with a webhook delivery (the `outcome` label of the deliveries counter)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    #: Refused before it was recorded: too large, too slow, unsigned or badly signed, malformed.
    REJECTED = "rejected"
    #: No feature handles it, or it comes from a repository that is not configured.
    IGNORED = "ignored"
    #: No room to receive or queue it now (503, not recorded): GitHub's redelivery is processed later.
    DEFERRED = "deferred"


class _Cap:
    """Distinct values seen for one label; values beyond the cap are reported as `other`."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        value = value or "unknown"
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


class Metrics:
    def __init__(self, *, max_label_values: int = 50) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deliveries = Counter(
            "verify_staging_webhook_deliveries",
            "Webhook deliveries received, by event and outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.scenario_results = Counter(
            "verify_staging_scenario_results",
            "Scenario conclusions of finished verifications.",
            ["scenario", "conclusion"],
            registry=self.registry,
        )
        self.deployment_duration = Histogram(
            "verify_staging_deployment_duration_seconds",
            "Workflow job run time (started to completed), from workflow_job webhooks.",
            JOB_LABELS,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.job_queue = Histogram(
            "verify_staging_job_queue_seconds",
            "Workflow job queue time (created to started), from workflow_job webhooks.",
            JOB_LABELS,
            buckets=QUEUE_BUCKETS,
            registry=self.registry,
        )
        self.workflow_jobs = Counter(
            "verify_staging_workflow_jobs",
            "Completed workflow jobs.",
            JOB_LABELS,
            registry=self.registry,
        )
        self.runner_online = Gauge(
            "verify_staging_runner_online", "1 when GitHub lists the runner online.", ["runner"], registry=self.registry
        )
        self.runner_busy = Gauge(
            "verify_staging_runner_busy", "1 while the runner runs a job.", ["runner"], registry=self.registry
        )
        self.undo_pending = Gauge(
            "verify_staging_undo_pending",
            "Undos (units the bot stopped) not yet restored, by SSH host; retried every ssh.undo_retry_interval.",
            ["host"],
            registry=self.registry,
        )
        self.health = VerificationHealth(self.registry)
        self._events = _Cap(max_label_values)
        self._repositories = _Cap(max_label_values)
        self._jobs = _Cap(max_label_values)
        self._runners = _Cap(max_label_values)
        # Redelivered or duplicated workflow_job events must not count a job twice; remember the last few.
        self._counted_jobs: OrderedDict[int, None] = OrderedDict()

    def delivery(self, *, event: str, outcome: DeliveryOutcome) -> None:
        self.deliveries.labels(event=self._events(event), outcome=outcome).inc()

    def scenario_result(self, *, scenario: ScenarioId, conclusion: ScenarioConclusion) -> None:
        self.scenario_results.labels(scenario=scenario.value, conclusion=conclusion.value).inc()

    def runner(self, *, name: str, online: bool | None = None, busy: bool | None = None) -> None:
        label = self._runners(name)
        if online is not None:
            self.runner_online.labels(runner=label).set(1 if online else 0)
        if busy is not None:
            self.runner_busy.labels(runner=label).set(1 if busy else 0)

    def forget_runners_online(self) -> None:
        """Drop the runner gauges (issue 16: only the replica that polls GitHub's runners exports them, so a replica
        that handed the poller over must not keep exporting stale values)."""
        self.runner_online.clear()

    def job(self, *, repository: str, job: WorkflowJob) -> None:
        """Account for one workflow_job event (any repository, any workflow)."""
        if job.runner_name and job.status == "in_progress":
            self.runner(name=job.runner_name, busy=True)
        if job.status != "completed":
            return
        if job.runner_name:
            self.runner(name=job.runner_name, busy=False)
        if job.id in self._counted_jobs:
            return
        self._counted_jobs[job.id] = None
        if len(self._counted_jobs) > 10_000:
            self._counted_jobs.popitem(last=False)
        labels = {
            "repository": self._repositories(repository),
            "job": self._jobs(job.name),
            "runner": self._runners(job.runner_name) if job.runner_name else "none",
            "conclusion": job.conclusion or "unknown",
        }
        self.workflow_jobs.labels(**labels).inc()
        ran = _seconds(job.started_at, job.completed_at)
        # A job skipped or cancelled before a runner took it never ran: it has no run or queue time.
        if job.runner_name and ran is not None:
            self.deployment_duration.labels(**labels).observe(ran)
            queued = _seconds(job.created_at, job.started_at)
            if queued is not None:
                self.job_queue.labels(**labels).observe(queued)

    def undos_pending(self, counts: Mapping[str, int], *, hosts: Iterable[str] = ()) -> None:
        """Pending undos by host; every host in `hosts` (the configured ones) reads 0 when it has none."""
        for host in {*hosts, *counts}:
            self.undo_pending.labels(host=host).set(counts.get(host, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsReporter:
    """A bot.ports.Reporter that counts every scenario conclusion when a verification finishes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def started(self, verification: Verification) -> None:
        return None

    async def progress(self, event: ProgressEvent) -> None:
        return None

    async def finished(self, verification: Verification) -> None:
        for scenario in verification.scenarios:
            if scenario.conclusion is not None:
                self._metrics.scenario_result(scenario=scenario.id, conclusion=scenario.conclusion)
        self._metrics.health.record(verification)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())
