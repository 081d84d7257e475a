"""The monitoring a team deploys: alert rules, their promtool unit tests, Alertmanager routing, the dashboard."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.health_metrics import shows_verdicts_only
from tests.deploy.conftest import DEPLOY, REPO, RUNBOOKS, output, run, tool

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboard.json"
RUNBOOK_URL = re.compile(r"^https://github\.com/YOUR-ORG/verify-staging/blob/main/docs/runbooks/([a-z0-9-]+\.md)$")

# docs/design.md "Monitoring": the metrics the bot exports. Rules and panels may use only these.
BOT_METRICS = {
    "verify_staging_webhook_deliveries_total",
    "verify_staging_scenario_results_total",
    "verify_staging_deployment_duration_seconds",
    "verify_staging_job_queue_seconds",
    "verify_staging_runner_online",
    "verify_staging_runner_busy",
    "verify_staging_workflow_jobs_total",
    "verify_staging_undo_pending",
    # issue 15 §4: verification health
    "verify_staging_measurement_seconds",
    "verify_staging_verification_last_timestamp_seconds",
    "verify_staging_schedule_period_seconds",
}
SEED_ALERTS = {"RunnerOffline", "DeploymentFailed", "DeploymentDurationHigh", "JobQueueTimeHigh"}


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def bot_metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\bverify_staging_[a-z_]+", expr))
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in names}


# --- Prometheus rules -------------------------------------------------------------------------------------------


def test_promtool_check_rules_is_clean() -> None:
    result = run(tool("promtool"), "check", "rules", ALERTS)
    assert result.returncode == 0, output(result)
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    assert RULE_TESTS, "no promtool unit tests under deploy/prometheus/tests"
    result = run(tool("promtool"), "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, output(result)


def test_every_alert_is_shown_firing_and_silent_by_the_unit_tests() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check["exp_alerts"] else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "alerts no unit test shows firing"
    assert names - silent == set(), "alerts no unit test shows staying silent"


@pytest.mark.parametrize(
    ("test_file", "mutation"),
    [
        ("runners.yml", ("        for: 5m\n", "")),  # RunnerOffline without its 5 minutes
        ("deployments.yml", ('le=~"600|600\\\\.0"', 'le=~"300|300\\\\.0"')),  # DeploymentDurationHigh at 300 s
        ("deployments.yml", ('job=~"deploy.*", conclusion="failure"', 'job=~".*", conclusion="failure"')),
        ("bot.yml", ("(verify_staging_undo_pending) > 0", "(verify_staging_undo_pending) > 1")),
        ("verifications.yml", ('{trigger="schedule", conclusion=~"failure|error"}', '{conclusion=~"failure|error"}')),
        ("verifications.yml", ("            or\n            0 * max", "            and\n            0 * max")),
        ("verifications.yml", ("\n          2 * max by (environment)", "\n          1 * max by (environment)")),
    ],
    ids=[
        "runner-offline-without-for",
        "duration-threshold-300",
        "deployment-failed-any-job",
        "undo-pending-above-1",
        "failing-any-trigger",
        "failing-needs-a-pass",
        "stale-after-one-period",
    ],
)
def test_unit_tests_catch_a_broken_rule(tmp_path: Path, test_file: str, mutation: tuple[str, str]) -> None:
    original = ALERTS.read_text()
    assert mutation[0] in original, "the mutation no longer applies to alerts.yml"
    (tmp_path / "tests").mkdir()
    (tmp_path / "alerts.yml").write_text(original.replace(mutation[0], mutation[1]))
    shutil.copy(DEPLOY / "prometheus" / "tests" / test_file, tmp_path / "tests" / test_file)
    result = run(tool("promtool"), "test", "rules", tmp_path / "tests" / test_file)
    assert result.returncode != 0, output(result)
    assert "FAILED" in result.stdout + result.stderr


def test_seed_alerts_exist_with_severity_summary_and_runbook() -> None:
    rules = alert_rules()
    assert SEED_ALERTS <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]
        match = RUNBOOK_URL.match(rule["annotations"]["runbook_url"])
        assert match, f"{rule['alert']}: runbook_url does not follow the documented pattern"
        assert (RUNBOOKS / match.group(1)).is_file(), f"{rule['alert']}: docs/runbooks/{match.group(1)} is missing"


def test_seed_thresholds() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert rules["RunnerOffline"]["expr"].strip() == "verify_staging_runner_online == 0"
    assert rules["RunnerOffline"]["for"] == "5m"
    assert rules["RunnerOffline"]["labels"]["severity"] == "critical"
    assert r'le=~"600|600\\.0"' in rules["DeploymentDurationHigh"]["expr"]


def test_for_durations_are_plain_so_the_lab_can_scale_them() -> None:
    for rule in alert_rules():
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


def test_rules_use_only_the_metrics_the_bot_exports() -> None:
    for rule in alert_rules():
        assert bot_metric_names(rule["expr"]) <= BOT_METRICS, rule["alert"]


def test_scrape_config_is_valid_and_keeps_the_bots_job_label() -> None:
    config = DEPLOY / "prometheus" / "prometheus.yml"
    result = run(tool("promtool"), "check", "config", config)
    assert result.returncode == 0, output(result)
    jobs = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert jobs["verify-staging"]["honor_labels"] is True
    assert jobs["verify-staging"]["metrics_path"] == "/metrics"
    for target_group in jobs["node"]["static_configs"]:
        assert target_group["labels"]["runner"]


# --- Alertmanager -----------------------------------------------------------------------------------------------


def test_amtool_check_config_is_clean() -> None:
    result = run(tool("amtool"), "check-config", ALERTMANAGER)
    assert result.returncode == 0, output(result)


def test_commented_slack_and_pagerduty_examples_are_valid_once_uncommented(tmp_path: Path) -> None:
    head, receivers = ALERTMANAGER.read_text().split("\nreceivers:\n")
    lines = []
    for line in receivers.splitlines():
        # Example lines are commented YAML; prose comments start with a capital letter and stay comments.
        match = re.match(r"^(\s*)# (.*)$", line)
        lines.append(match.group(1) + match.group(2) if match and not match.group(2)[:1].isupper() else line)
    uncommented = tmp_path / "alertmanager.yml"
    uncommented.write_text(head + "\nreceivers:\n" + "\n".join(lines) + "\n")
    receiver = yaml.safe_load(uncommented.read_text())["receivers"][0]
    assert {"webhook_configs", "slack_configs", "pagerduty_configs"} <= receiver.keys()
    result = run(tool("amtool"), "check-config", uncommented)
    assert result.returncode == 0, output(result)


@pytest.mark.parametrize("alert", sorted({"RunnerOffline", "DeploymentFailed", "DeploymentDurationHigh"}))
def test_alerts_route_to_oncall_sre(alert: str) -> None:
    severity = next(rule["labels"]["severity"] for rule in alert_rules() if rule["alert"] == alert)
    result = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER}",
        f"alertname={alert}",
        f"severity={severity}",
        "runner=production-runner-01",
    )
    assert result.returncode == 0, output(result)
    assert result.stdout.strip() == "oncall-sre"


def test_oncall_sre_notifies_a_webhook_first_and_holds_no_secret() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    webhook = receivers["oncall-sre"]["webhook_configs"][0]
    assert webhook["url"].startswith("http")
    assert webhook["send_resolved"] is True
    text = ALERTMANAGER.read_text()
    assert "hooks.slack.com" not in text
    assert not re.search(r"(routing_key|service_key|api_url):", text), "credentials belong in *_file settings"


def test_runner_offline_inhibits_deployment_failed_on_the_same_runner() -> None:
    rules = yaml.safe_load(ALERTMANAGER.read_text())["inhibit_rules"]
    matching = [
        rule
        for rule in rules
        if rule["source_matchers"] == ['alertname="RunnerOffline"']
        and any(re.fullmatch(m.split("=~", 1)[1].strip('"'), "DeploymentFailed") for m in rule["target_matchers"])
    ]
    assert matching, "no inhibition of DeploymentFailed by RunnerOffline"
    assert matching[0]["equal"] == ["runner"]


# --- Grafana ----------------------------------------------------------------------------------------------------

SEED_PANELS = {
    "Runner status",
    "Deployment success/failure rate",
    "Deployment duration",
    "Queue time",
    "CPU",
    "Memory",
    "Disk",
}


def test_dashboard_shape() -> None:
    dash = dashboard()
    assert dash["uid"] == "verify-staging-runners"
    variables = {variable["name"]: variable for variable in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert SEED_PANELS <= {panel["title"] for panel in dash["panels"]}
    ids = [panel["id"] for panel in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["refId"] and target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert bot_metric_names(target["expr"]) <= BOT_METRICS, panel["title"]


# After one deployment the bot has exported exactly these series (no failure has happened yet, so no
# conclusion="failure" series exists), and a runner host exports node metrics in one of two shapes.
ONE_DEPLOYMENT = [
    ('verify_staging_runner_online{runner="production-runner-01"}', "1x20"),
    ('verify_staging_runner_online{runner="production-runner-02"}', "1x20"),
    ('verify_staging_runner_busy{runner="production-runner-01"}', "0x20"),
    ('verify_staging_runner_busy{runner="production-runner-02"}', "0x20"),
    *(
        (
            f'verify_staging_workflow_jobs_total{{repository="paws360/paws360", job="{job}", '
            f'runner="production-runner-01", conclusion="success"}}',
            "_x10 1x10",
        )
        for job in ("deploy", "health-check")
    ),
    *(
        (
            f'verify_staging_{metric}_{part}{{repository="paws360/paws360", job="deploy", '
            f'runner="production-runner-01", conclusion="success"{le}}}',
            values,
        )
        for metric in ("deployment_duration_seconds", "job_queue_seconds")
        for part, le, values in (
            ("count", "", "_x10 1x10"),
            ("sum", "", "_x10 42x10"),
            ("bucket", ', le="60.0"', "_x10 1x10"),
            ("bucket", ', le="600.0"', "_x10 1x10"),
            ("bucket", ', le="+Inf"', "_x10 1x10"),
        )
    ),
]
LAB_RUNNER_EXPORTER = [
    ('node_cpu_seconds_total{runner="production-runner-01"}', "0+7x20"),
    ('node_memory_MemAvailable_bytes{runner="production-runner-01"}', "4e9x20"),
    ('node_memory_MemTotal_bytes{runner="production-runner-01"}', "8e9x20"),
    ('node_filesystem_avail_bytes{runner="production-runner-01"}', "20e9x20"),
    ('node_filesystem_size_bytes{runner="production-runner-01"}', "50e9x20"),
]
NODE_EXPORTER = [
    *(
        (
            f'node_cpu_seconds_total{{runner="production-runner-01", instance="r1:9100", cpu="{cpu}", mode="{mode}"}}',
            f"0+{rate}x20",
        )
        for cpu in ("0", "1")
        for mode, rate in (("idle", 10), ("user", 4), ("system", 1))
    ),
    ('node_memory_MemAvailable_bytes{runner="production-runner-01", instance="r1:9100"}', "4e9x20"),
    ('node_memory_MemTotal_bytes{runner="production-runner-01", instance="r1:9100"}', "8e9x20"),
    *(
        (
            f'node_filesystem_{name}_bytes{{runner="production-runner-01", instance="r1:9100", '
            f'device="{device}", fstype="{fstype}", mountpoint="{mountpoint}"}}',
            values,
        )
        for device, fstype, mountpoint in (("/dev/sda1", "ext4", "/"), ("tmpfs", "tmpfs", "/run"))
        for name, values in (("avail", "20e9x20"), ("size", "50e9x20"))
    ),
]


@pytest.mark.parametrize("node_series", [LAB_RUNNER_EXPORTER, NODE_EXPORTER], ids=["lab-exporter", "node-exporter"])
def test_every_dashboard_query_returns_data_after_one_deployment(
    tmp_path: Path, node_series: list[tuple[str, str]]
) -> None:
    # promtool evaluates each panel query at 1 minute after the deployment; absent(q) is empty exactly when q
    # returns at least one series, which is what a panel needs to show data.
    # The verification health panels fill once a verification completes (the next test).
    targets = [(panel["title"], target) for panel in staging_panels() for target in panel["targets"]]
    assert_panels_have_data(tmp_path, targets, ONE_DEPLOYMENT + node_series)


def staging_panels() -> list[dict[str, Any]]:
    """The panels that show staging, not verify-staging's own verdicts (what dashboard-data judges)."""
    return [p for p in dashboard()["panels"] if not shows_verdicts_only(t["expr"] for t in p["targets"])]


# After one verification completed, the bot exports its measurements and its verdict time.
ONE_VERIFICATION = [
    (
        'verify_staging_measurement_seconds{environment="staging", scenario="failover", '
        'measurement="failover_latency_s"}',
        "_x10 3.5x10",
    ),
    (
        'verify_staging_verification_last_timestamp_seconds{environment="staging", trigger="comment", '
        'conclusion="success"}',
        "_x10 150x10",
    ),
]


def test_the_verification_health_panels_have_data_after_one_verification(tmp_path: Path) -> None:
    verdicts = [p for p in dashboard()["panels"] if p not in staging_panels()]
    assert {p["title"] for p in verdicts} == {"Verification measurements", "Last verdict per environment"}
    assert_panels_have_data(tmp_path, [(p["title"], t) for p in verdicts for t in p["targets"]], ONE_VERIFICATION)


def assert_panels_have_data(
    tmp_path: Path, targets: list[tuple[str, dict[str, Any]]], series: list[tuple[str, str]]
) -> None:
    (tmp_path / "none.yml").write_text("groups: []\n")
    test = {
        "rule_files": ["none.yml"],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "promql_expr_test": [
                    {"expr": f"absent({target['expr']})", "eval_time": "3m45s", "exp_samples": []}
                    for _, target in targets
                ],
            }
        ],
    }
    (tmp_path / "dashboard_test.yml").write_text(yaml.safe_dump(test))
    result = run(tool("promtool"), "test", "rules", tmp_path / "dashboard_test.yml")
    report = result.stdout + result.stderr
    empty = [
        f"{title} {target['refId']}" for title, target in targets if json.dumps(f"absent({target['expr']})") in report
    ]
    assert result.returncode == 0, f"panels with no data: {empty}\n{output(result)}"


def test_grafana_provisioning_files() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources.yml").read_text())
    assert datasources["apiVersion"] == 1
    assert [source["type"] for source in datasources["datasources"]] == ["prometheus"]
    dashboards = yaml.safe_load((provisioning / "dashboards.yml").read_text())
    assert dashboards["apiVersion"] == 1
    assert dashboards["providers"][0]["type"] == "file"
    assert dashboards["providers"][0]["options"]["path"]


def test_runbooks_cover_the_seed_troubleshooting_cases() -> None:
    for name in ("runner-not-picking-up-jobs.md", "health-checks-timing-out.md", "secrets-not-available.md"):
        assert (RUNBOOKS / name).is_file(), name
    index = (RUNBOOKS / "README.md").read_text()
    for path in sorted(RUNBOOKS.glob("*.md")):
        if path.name != "README.md":
            assert f"({path.name})" in index, f"docs/runbooks/README.md does not link {path.name}"
    assert REPO.joinpath("docs", "runbooks").is_dir()
