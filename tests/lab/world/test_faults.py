"""Every contract fault at once in one lab (they touch different parts of the world): each one is visible through
the lab's real interfaces. The module ends by SIGKILLing a runner agent and then the lab itself."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from lab.faults import DEPLOY_LOG_ERROR_MESSAGE, Fault
from tests.lab.world.labproc import LabProcess, lab_delivering_to_a_receiver
from tests.support.processes import alive
from tests.support.wait import wait_for

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    args = [arg for fault in Fault for arg in ("--fault", fault.value)]
    with lab_delivering_to_a_receiver(tmp_path_factory.mktemp("faults"), *args) as running:
        yield running


def _retrying(lab: LabProcess, method: str, path: str, **kwargs: Any) -> requests.Response:
    """github-flaky answers some calls 502 or 403: try a bounded number of times, as a client would."""
    answer = lab.gh(method, path, **kwargs)
    for _ in range(20):
        if answer.status_code not in (403, 502):
            break
        answer = lab.gh(method, path, **kwargs)
    return answer


def _workflow(lab: LabProcess) -> dict[str, Any]:
    answer = _retrying(lab, "GET", f"/repos/{lab.state['repository']}/contents/.github/workflows/ci.yml")
    return dict(yaml.safe_load(base64.b64decode(answer.json()["content"])))


def test_pipeline_faults_shape_the_deploy_workflow(lab: LabProcess) -> None:
    workflow = _workflow(lab)
    assert "concurrency" not in workflow  # no-concurrency
    assert "rollback" not in workflow["jobs"]  # no-rollback
    deploy_with = workflow["jobs"]["deploy"]["steps"][0]["with"]
    assert float(deploy_with["seconds"]) > 20  # slow-deploy: beyond the lab's deployment threshold
    # deploy-log-error: the deploy step reports an error on the primary runner (and succeeds)
    assert (deploy_with["log_error"], deploy_with["log_error_on"]) == (DEPLOY_LOG_ERROR_MESSAGE, "production-runner-01")
    pick_with = workflow["jobs"]["select-runner"]["steps"][0]["with"]
    assert float(pick_with["failover_seconds"]) > 8  # slow-failover: beyond the lab's failover threshold


def test_no_secondary_and_label_mismatch_register_runners_without_the_production_label(lab: LabProcess) -> None:
    runners = _retrying(lab, "GET", f"/repos/{lab.state['repository']}/actions/runners").json()["runners"]
    labels = {r["name"]: {label["name"] for label in r["labels"]} for r in runners}
    assert labels["production-runner-02"] == {"self-hosted", "secondary"}  # no-secondary
    # label-mismatch: the primary lost its deploy label, the one the deploy job's runs-on needs besides its role
    assert labels["production-runner-01"] == {"self-hosted", "primary"}


def test_redis_down_fails_the_backend_health(lab: LabProcess) -> None:
    answer = requests.get(lab.state["backend_url"] + "/actuator/health", timeout=5)
    assert answer.status_code == 503
    assert answer.json()["components"]["redis"]["status"] == "DOWN"


def test_missing_alert_rule_and_no_notification_change_monitoring(lab: LabProcess) -> None:
    rules = requests.get(lab.state["prometheus_url"] + "/api/v1/rules", timeout=5).json()
    names = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    assert "RunnerOffline" in names
    assert "DeploymentDurationHigh" not in names
    status = requests.get(lab.state["alertmanager_url"] + "/api/v2/status", timeout=5).json()
    route = yaml.safe_load(status["config"]["original"])["route"]
    receivers = {route["receiver"]} | {r.get("receiver") for r in route.get("routes", [])}
    assert "oncall-sre" not in receivers


def test_webhook_faults_drop_and_duplicate_deliveries(lab: LabProcess) -> None:
    repo, number = lab.state["repository"], lab.state["pull_request"]["number"]
    for i in range(20):
        assert _retrying(lab, "POST", f"/repos/{repo}/issues/{number}/comments", json={"body": f"c{i}"}).ok
    truth = Path(lab.state["truth_log"])

    def events(name: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in truth.read_text().splitlines() if f'"event":"{name}"' in x]

    def attempted() -> bool:
        return len({e["delivery"] for e in events("webhook_delivered") + events("webhook_dropped")}) >= 20

    wait_for(attempted, timeout=15, what="every comment's delivery to be attempted")
    delivered = [e["delivery"] for e in events("webhook_delivered")]
    assert events("webhook_dropped")  # webhook-loss
    assert len(delivered) > len(set(delivered))  # webhook-chaos: some deliveries arrive twice


def test_github_flaky_answers_some_calls_502_and_rate_limits_with_retry_after(lab: LabProcess) -> None:
    answers = [lab.gh("GET", f"/repos/{lab.state['repository']}") for _ in range(60)]
    codes = [a.status_code for a in answers]
    assert 502 in codes
    assert 200 in codes
    limited = [a for a in answers if a.status_code == 403]
    assert all(a.headers.get("Retry-After") for a in limited)


async def test_sigkill_of_a_runner_agent_makes_it_offline_after_the_heartbeat_timeout(lab: LabProcess) -> None:
    name = "production-runner-01"
    pid_file = next(Path(lab.workdir, "hosts", name, "run").glob("*.pid"))
    os.kill(int(pid_file.read_text()), signal.SIGKILL)

    def offline() -> bool:
        runners = _retrying(lab, "GET", f"/repos/{lab.state['repository']}/actions/runners").json()["runners"]
        return any(r["name"] == name and r["status"] == "offline" for r in runners)

    assert not offline()
    wait_for(offline, timeout=15, what="the killed runner offline")


def test_sigkill_of_the_lab_leaves_no_process_behind(lab: LabProcess) -> None:
    children = lab.descendants()
    assert len(children) >= 10
    lab.stop(signal.SIGKILL)
    wait_for(lambda: alive(children) == [], timeout=10, what="every child of the killed lab to end")


def test_an_unknown_fault_exits_2_with_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lab", "--fault", "no-such-fault"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "no-such-fault" in done.stderr
