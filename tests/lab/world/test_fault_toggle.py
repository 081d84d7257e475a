"""`POST /_lab/faults` turns faults on and off in a running lab: each change shows through the lab's own APIs at
once, off brings the world back, and the truth log records it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.lab.world.labproc import LabProcess, lab_delivering_to_a_receiver

pytestmark = pytest.mark.lab

# Prometheus and Alertmanager reload before the answer: give the answer their reload time and a loaded machine's.
ANSWER_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabProcess]:
    with lab_delivering_to_a_receiver(tmp_path_factory.mktemp("toggle")) as running:
        yield running


def _toggle(lab: LabProcess, body: dict[str, Any]) -> requests.Response:
    return requests.post(lab.state["github_api_url"] + "/_lab/faults", json=body, timeout=ANSWER_TIMEOUT)


def _on(lab: LabProcess, fault: str, **extra: Any) -> list[str]:
    answer = _toggle(lab, {"fault": fault, "on": True, **extra})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["active"])


def _off(lab: LabProcess, fault: str) -> list[str]:
    answer = _toggle(lab, {"fault": fault, "on": False})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["active"])


def _workflow(lab: LabProcess) -> dict[str, Any]:
    answer = lab.gh("GET", f"/repos/{lab.state['repository']}/contents/.github/workflows/ci.yml")
    return dict(yaml.safe_load(base64.b64decode(answer.json()["content"])))


def _failover_seconds(lab: LabProcess) -> float:
    return float(_workflow(lab)["jobs"]["select-runner"]["steps"][0]["with"]["failover_seconds"])


def test_slow_failover_takes_a_chosen_delay_and_goes_back_to_none(lab: LabProcess) -> None:
    assert _failover_seconds(lab) == 0.0
    assert _on(lab, "slow-failover", seconds=3.5) == ["slow-failover"]
    assert _failover_seconds(lab) == 3.5
    assert _on(lab, "slow-failover") == ["slow-failover"]  # without seconds: the topology's slow failover
    assert _failover_seconds(lab) > 8  # beyond the lab's failover threshold
    assert _off(lab, "slow-failover") == []
    assert _failover_seconds(lab) == 0.0
    active = requests.get(lab.state["github_api_url"] + "/_lab/faults", timeout=10).json()["active"]
    assert active == []
    truth = Path(lab.state["truth_log"]).read_text().splitlines()
    changes = [json.loads(x) for x in truth if '"event":"fault_changed"' in x]
    assert [(c["fault"], c["on"], c["seconds"]) for c in changes if c["fault"] == "slow-failover"] == [
        ("slow-failover", True, 3.5),
        ("slow-failover", True, None),
        ("slow-failover", False, None),
    ]


def test_slow_deploy_and_deploy_log_error_reshape_the_workflow(lab: LabProcess) -> None:
    def deploy_with() -> dict[str, Any]:
        return dict(_workflow(lab)["jobs"]["deploy"]["steps"][0]["with"])

    assert float(deploy_with()["seconds"]) < 20
    _on(lab, "slow-deploy")
    _on(lab, "deploy-log-error")
    assert float(deploy_with()["seconds"]) > 20  # beyond the lab's deployment threshold
    assert "log_error" in deploy_with()
    _off(lab, "slow-deploy")
    assert _off(lab, "deploy-log-error") == []
    assert float(deploy_with()["seconds"]) < 20
    assert "log_error" not in deploy_with()


def test_redis_down_fails_the_backend_health_until_turned_off(lab: LabProcess) -> None:
    def health() -> int:
        return requests.get(lab.state["backend_url"] + "/actuator/health", timeout=5).status_code

    assert health() == 200
    _on(lab, "redis-down")
    assert health() == 503
    _off(lab, "redis-down")
    assert health() == 200


def test_label_mismatch_takes_the_primarys_deploy_label_until_turned_off(lab: LabProcess) -> None:
    def primary_labels() -> set[str]:
        runners = lab.gh("GET", f"/repos/{lab.state['repository']}/actions/runners").json()["runners"]
        primary = next(r for r in runners if r["name"] == "production-runner-01")
        return {label["name"] for label in primary["labels"]}

    before = primary_labels()
    assert "production" in before
    _on(lab, "label-mismatch")
    assert primary_labels() == {"self-hosted", "primary"}
    _off(lab, "label-mismatch")
    assert primary_labels() == before


def test_missing_alert_rule_and_no_notification_reload_monitoring(lab: LabProcess) -> None:
    def rules() -> set[str]:
        groups = requests.get(lab.state["prometheus_url"] + "/api/v1/rules", timeout=5).json()["data"]["groups"]
        return {r["name"] for g in groups for r in g["rules"]}

    def receivers() -> set[str]:
        status = requests.get(lab.state["alertmanager_url"] + "/api/v2/status", timeout=5).json()
        route = yaml.safe_load(status["config"]["original"])["route"]
        return {route["receiver"]} | {r.get("receiver") for r in route.get("routes", [])}

    assert "DeploymentDurationHigh" in rules()
    assert "oncall-sre" in receivers()
    _on(lab, "missing-alert-rule")
    _on(lab, "no-notification")
    assert "DeploymentDurationHigh" not in rules()
    assert "RunnerOffline" in rules()
    assert "oncall-sre" not in receivers()
    _off(lab, "missing-alert-rule")
    _off(lab, "no-notification")
    assert "DeploymentDurationHigh" in rules()
    assert "oncall-sre" in receivers()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"fault": "no-such-fault", "on": True}, 404, "unknown fault"),
        ({"fault": "webhook-loss", "on": True}, 409, "only be set when the lab starts"),
        ({"fault": "slow-failover", "on": "yes"}, 422, "on must be"),
        ({"fault": "slow-deploy", "on": True, "seconds": 3}, 422, "seconds is only"),
        ({"fault": "slow-failover", "on": True, "seconds": -1}, 422, "seconds must be"),
    ],
)
def test_a_change_the_lab_cannot_make_is_refused_with_a_sentence(
    lab: LabProcess, body: dict[str, Any], status: int, words: str
) -> None:
    answer = _toggle(lab, body)
    assert answer.status_code == status
    assert words in answer.json()["message"]
    assert requests.get(lab.state["github_api_url"] + "/_lab/faults", timeout=10).json()["active"] == []
