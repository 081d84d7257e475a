"""The whole lab through its real interfaces, started as `python -m lab` once for this module.

The last test shuts the lab down with SIGTERM and checks that no process it started is left.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest
import requests
import yaml

from bot.settings import load_settings
from tests.lab.world.labproc import FakeBotMetrics, LabProcess, start_lab
from tests.support.processes import alive
from tests.support.wait import wait_for

pytestmark = pytest.mark.lab

CONTRACT_KEYS = {
    "github_api_url", "webhook_secret", "app_id", "app_private_key_path", "installation_id", "repository",
    "pull_request", "authorized_user", "unauthorized_user", "sre_user", "jira_url", "jira_token", "jira_issue",
    "ssh_known_hosts", "ssh_key_path", "ssh_user", "ssh_hosts", "prometheus_url", "alertmanager_url", "grafana_url",
    "backend_url", "frontend_url", "truth_log", "settings_path", "user_tokens", "pid",
}  # fmt: skip
PRIMARY = "production-runner-01"
SECONDARY = "production-runner-02"


@pytest.fixture(scope="module")
def bot() -> Iterator[FakeBotMetrics]:
    fake = FakeBotMetrics()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, bot: FakeBotMetrics) -> Iterator[LabProcess]:
    running = start_lab(tmp_path_factory.mktemp("world"), "--webhook-url", bot.webhook_url)
    bot.lab = running
    try:
        yield running
    finally:
        running.stop()


async def ssh(lab: LabProcess, host: str, command: str) -> asyncssh.SSHCompletedProcess:
    address, port = lab.state["ssh_hosts"][host].rsplit(":", 1)
    async with asyncssh.connect(
        address,
        int(port),
        username=lab.state["ssh_user"],
        known_hosts=lab.state["ssh_known_hosts"],
        client_keys=[lab.state["ssh_key_path"]],
    ) as conn:
        return await conn.run(command, check=False)


def test_state_file_has_every_contract_key_and_settings_the_bot_accepts(lab: LabProcess) -> None:
    assert CONTRACT_KEYS <= set(lab.state)
    assert lab.state["pull_request"]["number"] == 42
    assert len(lab.state["pull_request"]["head_sha"]) == 40
    assert set(lab.state["user_tokens"]) == {"alice-admin", "bob-reader", "sam-sre"}
    env = {
        "GITHUB_APP_ID": str(lab.state["app_id"]),
        "GITHUB_PRIVATE_KEY_PATH": lab.state["app_private_key_path"],
        "GITHUB_WEBHOOK_SECRET": lab.state["webhook_secret"],
        "GITHUB_API_URL": lab.state["github_api_url"],
        "JIRA_URL": lab.state["jira_url"],
        "JIRA_TOKEN": lab.state["jira_token"],
        "SSH_KEY_PATH": lab.state["ssh_key_path"],
        "SSH_KNOWN_HOSTS": lab.state["ssh_known_hosts"],
        "GRAFANA_TOKEN": lab.state["grafana_token"],
    }
    settings = load_settings(lab.state["settings_path"], env)
    staging = settings.environments["staging"]
    assert staging.thresholds.deployment == 20
    assert staging.thresholds.queue == 12  # lab-scaled, not the 120 s default
    assert settings.secrets.grafana_token == lab.state["grafana_token"]
    assert staging.backend.health_url == lab.state["backend_url"] + "/actuator/health"
    assert settings.ssh.hosts[PRIMARY].port == int(lab.state["ssh_hosts"][PRIMARY].rsplit(":", 1)[1])
    raw = yaml.safe_load(Path(lab.state["settings_path"]).read_text())
    assert lab.state["webhook_secret"] not in str(raw)


async def test_ssh_stop_of_a_runner_unit_makes_it_offline_and_start_brings_it_back(lab: LabProcess) -> None:
    assert lab.runner_status(SECONDARY) == "online"
    stopped = await ssh(lab, SECONDARY, "sudo systemctl stop 'actions.runner.*.service'")
    assert stopped.exit_status == 0
    assert lab.runner_status(SECONDARY) == "offline"
    started = await ssh(
        lab, SECONDARY, "sudo systemctl start actions.runner.paws360-paws360.production-runner-02.service"
    )
    assert started.exit_status == 0
    wait_for(lambda: lab.runner_status(SECONDARY) == "online", timeout=10, what="the runner back online")


async def test_stopping_the_backend_refuses_health_checks(lab: LabProcess) -> None:
    health = lab.state["backend_url"] + "/actuator/health"
    assert requests.get(health, timeout=5).status_code == 200
    assert (await ssh(lab, "staging-backend-host", "sudo systemctl stop paws360-backend")).exit_status == 0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(health, timeout=5)
    assert (await ssh(lab, "staging-backend-host", "sudo systemctl start paws360-backend")).exit_status == 0
    assert requests.get(health, timeout=5).json()["status"] == "UP"


def test_a_dispatched_deploy_runs_on_the_primary_and_installs_the_version(lab: LabProcess) -> None:
    repo = lab.state["repository"]
    inputs = {"environment": "staging", "test_mode": "true", "test_id": "world-deploy-1"}
    ref = lab.state["pull_request"]["head_ref"]
    assert lab.gh("POST", f"/repos/{repo}/actions/workflows/ci.yml/dispatches", json={"ref": ref, "inputs": inputs})

    def finished() -> bool:
        runs = lab.gh("GET", f"/repos/{repo}/actions/runs").json()["workflow_runs"]
        return any(r["display_title"].endswith("world-deploy-1") and r["status"] == "completed" for r in runs)

    wait_for(finished, timeout=30, what="the deploy run to complete")
    runs = lab.gh("GET", f"/repos/{repo}/actions/runs").json()["workflow_runs"]
    run = next(r for r in runs if r["display_title"].endswith("world-deploy-1"))
    jobs = {j["name"]: j for j in lab.gh("GET", f"/repos/{repo}/actions/runs/{run['id']}/jobs").json()["jobs"]}
    assert run["conclusion"] == "success"
    assert jobs["deploy"]["runner_name"] == PRIMARY
    assert jobs["rollback"]["conclusion"] == "skipped"
    info = requests.get(lab.state["backend_url"] + "/actuator/info", timeout=5).json()
    assert info["build"]["version"] == "world-deploy-1"


async def test_failed_health_checks_roll_back_and_open_an_incident_issue(lab: LabProcess) -> None:
    repo, host = lab.state["repository"], "staging-backend-host"
    before = Path(lab.workdir, "hosts", host, "release", "current").read_text()
    assert (await ssh(lab, host, "sudo systemctl stop paws360-backend")).exit_status == 0
    try:
        inputs = {"environment": "staging", "test_id": "world-bad-1"}
        assert lab.gh(
            "POST", f"/repos/{repo}/actions/workflows/ci.yml/dispatches", json={"ref": "main", "inputs": inputs}
        )

        def finished() -> bool:
            runs = lab.gh("GET", f"/repos/{repo}/actions/runs").json()["workflow_runs"]
            return any(r["display_title"].endswith("world-bad-1") and r["status"] == "completed" for r in runs)

        wait_for(finished, timeout=40, what="the failing deploy run to complete")
    finally:
        await ssh(lab, host, "sudo systemctl start paws360-backend")
    info = requests.get(lab.state["backend_url"] + "/actuator/info", timeout=5).json()
    assert info["build"]["version"] == before
    issues = lab.gh("GET", f"/repos/{repo}/issues?labels=incident").json()
    assert any(before in i["title"] for i in issues)


def _firing(lab: LabProcess, alertname: str, runner: str) -> bool:
    alerts = requests.get(lab.state["alertmanager_url"] + "/api/v2/alerts", timeout=5).json()
    return any(a["labels"].get("alertname") == alertname and a["labels"].get("runner") == runner for a in alerts)


def _notified(lab: LabProcess, alertname: str) -> bool:
    notes = requests.get(lab.state["oncall_url"] + "/notifications", timeout=5).json()
    return any(a["labels"].get("alertname") == alertname for n in notes for a in n["alerts"])


async def test_runner_offline_alert_fires_reaches_alertmanager_and_the_oncall_receiver(lab: LabProcess) -> None:
    assert (await ssh(lab, PRIMARY, "sudo systemctl stop 'actions.runner.*'")).exit_status == 0
    try:
        wait_for(lambda: _firing(lab, "RunnerOffline", PRIMARY), timeout=30, what="RunnerOffline in Alertmanager")
        wait_for(lambda: _notified(lab, "RunnerOffline"), timeout=15, what="the on-call notification")
    finally:
        await ssh(lab, PRIMARY, "sudo systemctl start 'actions.runner.*'")
    truth = [line for line in Path(lab.state["truth_log"]).read_text().splitlines() if '"alert_fired"' in line]
    assert any('"RunnerOffline"' in line and PRIMARY in line for line in truth)
    rules = requests.get(lab.state["prometheus_url"] + "/api/v1/rules", timeout=5).json()
    names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert {"RunnerOffline", "DeploymentFailed", "DeploymentDurationHigh"} <= names


def test_grafana_answers_panel_queries_from_the_lab_prometheus(lab: LabProcess) -> None:
    headers = {"Authorization": f"Bearer {lab.state['grafana_token']}"}
    query = {
        "from": "now-1m",
        "to": "now",
        "queries": [{"refId": "A", "expr": "github_runner_online", "instant": True, "datasource": {"uid": "x"}}],
    }
    answer = requests.post(lab.state["grafana_url"] + "/api/ds/query", json=query, headers=headers, timeout=10)
    frames = answer.json()["results"]["A"]["frames"]
    runners = {f["schema"]["fields"][1]["labels"]["runner"] for f in frames}
    assert runners == {PRIMARY, SECONDARY}
    board = requests.get(
        lab.state["grafana_url"] + "/api/dashboards/uid/verify-staging-runners", headers=headers, timeout=5
    )
    assert board.json()["dashboard"]["uid"] == "verify-staging-runners"


def test_runner_exporter_serves_node_style_metrics_per_runner(lab: LabProcess) -> None:
    text = requests.get(lab.state["exporter_url"] + "/metrics", timeout=5).text
    for name in (
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
    ):
        assert f'{name}{{runner="{PRIMARY}"' in text
    assert f'github_runner_online{{runner="{SECONDARY}"}} 1' in text


def test_sigterm_stops_every_process_the_lab_started(lab: LabProcess) -> None:
    children = lab.descendants()
    assert len(children) >= 10  # services, runner agents, Prometheus, Alertmanager
    lab.stop(signal.SIGTERM)
    assert lab.proc.returncode == 0
    assert alive(children) == []
