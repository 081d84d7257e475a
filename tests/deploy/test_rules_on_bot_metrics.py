"""The alert rules and dashboard queries evaluated on what the bot's own exporter (bot.metrics) writes.

The bot's /metrics text after a few workflow_job events becomes promtool input series, so the label names,
`le` spellings and series the rules expect are checked against the real exporter, not against a copy.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.github.models import WorkflowJob
from bot.metrics import Metrics
from bot.model import ScenarioConclusion, ScenarioId, Trigger, Verification, VerificationConclusion
from tests.deploy.conftest import DEPLOY, output, run, tool
from tests.support.verifications import conclude, new_verification

REPOSITORY = "paws360/paws360"
NODE_SERIES = [
    ('node_cpu_seconds_total{runner="production-runner-01", cpu="0", mode="user"}', "0+3x40"),
    ('node_memory_MemAvailable_bytes{runner="production-runner-01"}', "4e9x40"),
    ('node_memory_MemTotal_bytes{runner="production-runner-01"}', "8e9x40"),
    ('node_filesystem_avail_bytes{runner="production-runner-01", mountpoint="/", fstype="ext4"}', "2e10x40"),
    ('node_filesystem_size_bytes{runner="production-runner-01", mountpoint="/", fstype="ext4"}', "5e10x40"),
]


def completed_job(job_id: int, name: str, runner: str, conclusion: str, queued: int, ran: int) -> WorkflowJob:
    """A completed workflow_job as the webhook carries it: queued for `queued` s, then ran for `ran` s."""
    created = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    started = created + timedelta(seconds=queued)
    return WorkflowJob.from_api(
        {
            "id": job_id,
            "run_id": 7,
            "name": name,
            "status": "completed",
            "conclusion": conclusion,
            "labels": ["self-hosted", "production"],
            "runner_name": runner,
            "created_at": created.strftime(stamp),
            "started_at": started.strftime(stamp),
            "completed_at": (started + timedelta(seconds=ran)).strftime(stamp),
        }
    )


def series_of(metrics: Metrics, *, appear_after: int) -> list[tuple[str, str]]:
    """Every exported sample as a promtool series: absent for `appear_after` steps, then constant."""
    found = []
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ", ".join(f"{key}={json.dumps(value)}" for key, value in sorted(sample.labels.items()))
            found.append((f"{sample.name}{{{labels}}}", f"_x{appear_after} {sample.value}x30"))
    return found


def promtool_test(tmp_path: Path, series: list[tuple[str, str]], checks: dict[str, Any]) -> Any:
    (tmp_path / "alerts.yml").write_text((DEPLOY / "prometheus" / "alerts.yml").read_text())
    test = {
        "rule_files": ["alerts.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series], **checks}],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    return run(tool("promtool"), "test", "rules", tmp_path / "test.yml")


def alerts_firing(alert: str, severity: str, labels: list[dict[str, str]]) -> dict[str, Any]:
    """A promtool check that exactly these instances of `alert` fire (promtool keeps ALERTS like Prometheus)."""
    samples = []
    for extra in labels:
        pairs = {"__name__": "ALERTS", "alertname": alert, "alertstate": "firing", "severity": severity, **extra}
        rendered = ", ".join(f"{key}={json.dumps(value)}" for key, value in pairs.items() if key != "__name__")
        samples.append({"labels": f"ALERTS{{{rendered}}}", "value": 1})
    return {"expr": f'ALERTS{{alertname="{alert}", alertstate="firing"}}', "eval_time": "10m", "exp_samples": samples}


def test_slow_and_failed_deploys_from_the_bot_fire_their_alerts_and_a_good_one_does_not(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.runner(name="production-runner-01", online=True)
    metrics.runner(name="production-runner-02", online=False)
    # on production-runner-01: a 120 s deploy and a 700 s one; on production-runner-02: a failed deploy that
    # waited 400 s in the queue; a successful 30 s health check that must not count as a deployment.
    metrics.job(repository=REPOSITORY, job=completed_job(1, "deploy", "production-runner-01", "success", 4, 120))
    metrics.job(repository=REPOSITORY, job=completed_job(2, "deploy", "production-runner-01", "success", 6, 700))
    metrics.job(repository=REPOSITORY, job=completed_job(3, "deploy", "production-runner-02", "failure", 400, 30))
    metrics.job(repository=REPOSITORY, job=completed_job(4, "health-check", "production-runner-01", "success", 2, 30))
    on_01 = {"repository": REPOSITORY, "job": "deploy", "runner": "production-runner-01"}
    on_02 = {"repository": REPOSITORY, "job": "deploy", "runner": "production-runner-02"}
    checks = {
        "promql_expr_test": [
            alerts_firing("DeploymentDurationHigh", "warning", [on_01]),
            alerts_firing("DeploymentFailed", "critical", [on_02]),
            alerts_firing(
                "JobQueueTimeHigh", "warning", [{"repository": REPOSITORY, "runner": "production-runner-02"}]
            ),
            alerts_firing("RunnerOffline", "critical", [{"runner": "production-runner-02"}]),
            alerts_firing("HealthCheckFailed", "warning", []),
            alerts_firing("AllRunnersOffline", "critical", []),
        ]
    }
    result = promtool_test(tmp_path, series_of(metrics, appear_after=2), checks)
    assert result.returncode == 0, output(result)


def test_every_dashboard_query_returns_data_on_the_bots_metrics(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.runner(name="production-runner-01", online=True, busy=False)
    metrics.job(repository=REPOSITORY, job=completed_job(1, "deploy", "production-runner-01", "success", 4, 120))
    metrics.health.record(verification(VerificationConclusion.SUCCESS, trigger=Trigger.COMMENT))  # the verdict panels
    dashboard = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text())
    targets = [(panel["title"], target) for panel in dashboard["panels"] for target in panel["targets"]]
    checks = {
        "promql_expr_test": [
            {"expr": f"absent({target['expr']})", "eval_time": "10m", "exp_samples": []} for _, target in targets
        ]
    }
    result = promtool_test(tmp_path, series_of(metrics, appear_after=2) + NODE_SERIES, checks)
    report = result.stdout + result.stderr
    empty = [title for title, target in targets if json.dumps(f"absent({target['expr']})") in report]
    assert result.returncode == 0, f"panels with no data: {empty}\n{output(result)}"


def verification(conclusion: VerificationConclusion, *, trigger: Trigger) -> Verification:
    """A completed failover verification with its failover latency, as the engine leaves it."""
    v = new_verification([ScenarioId.FAILOVER])
    passed = conclusion is VerificationConclusion.SUCCESS
    conclude(
        v.scenarios[0],
        ScenarioConclusion.PASSED if passed else ScenarioConclusion.FAILED,
        start=0,
        measurements={"failover_latency_s": 3.5 if passed else 17.0},
    )
    v.completed_at, v.conclusion = v.started_at + timedelta(minutes=5), conclusion
    v.trigger = trigger
    return v


def test_a_failed_scheduled_verification_from_the_bot_fires_staging_verification_failing(tmp_path: Path) -> None:
    failing, passing = Metrics(), Metrics()
    failing.health.record(verification(VerificationConclusion.FAILURE, trigger=Trigger.SCHEDULE))
    passing.health.record(verification(VerificationConclusion.SUCCESS, trigger=Trigger.SCHEDULE))
    for metrics, expected in ((failing, [{"environment": "staging"}]), (passing, [])):
        checks = {"promql_expr_test": [alerts_firing("StagingVerificationFailing", "warning", expected)]}
        result = promtool_test(tmp_path, series_of(metrics, appear_after=2), checks)
        assert result.returncode == 0, output(result)
