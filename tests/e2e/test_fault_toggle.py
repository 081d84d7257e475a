"""A fault turned on while the lab runs (issue 15 §5): `slow-failover` switched on between two `/verify-staging
failover` comments makes the second verification's failover fail, and the bot's /metrics shows both verdicts and
the slower failover (issue 15 §4). The schedule-driven version follows once scheduled verifications exist."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.wait import wait_for

from .harness import World, running_world

pytestmark = pytest.mark.lab

#: The lab answers once every part the fault changes has taken it.
TOGGLE_TIMEOUT = 60.0
#: bot/settings_model.py's default `authorization.command_cooldown`.
DEFAULT_COOLDOWN = 10.0
#: The reporters after the check runs (the comment, JIRA) finish within seconds.
METRICS_TIMEOUT = 60.0


def gauge(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def settled(world: World, name: str, **labels: str) -> float:
    """The gauge once the bot has set it: /metrics is the last reporter to hear of a finished verification, after
    its check runs, so it may lag the overall check run by a moment. (A value may be 0: the lab's failover is
    often quicker than GitHub's whole-second timestamps.)"""

    def value() -> list[float]:
        found = gauge(world.metrics(), name, **labels)
        return [] if found is None else [found]

    return wait_for(value, timeout=METRICS_TIMEOUT, what=f"{name} {labels} on /metrics")[0]


def test_slow_failover_turned_on_between_two_verifications_fails_the_second(tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        settings = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
        environment, env = next(iter(settings["environments"].items()))
        threshold = float(env["thresholds"]["failover"])
        latency = {"environment": environment, "scenario": "failover", "measurement": "failover_latency_s"}

        # One person's commands are `authorization.command_cooldown` apart, or the second is ignored.
        cooldown = float(settings.get("authorization", {}).get("command_cooldown", DEFAULT_COOLDOWN))
        asked = time.monotonic()
        first = world.verify("/verify-staging failover")
        assert first.conclusions() == {"failover": "success"}, first.scenario("failover")["output"]
        before = settled(world, "verify_staging_measurement_seconds", **latency)
        assert before <= threshold

        answer = requests.post(
            str(world.state["github_api_url"]) + "/_lab/faults",
            json={"fault": "slow-failover", "on": True},
            timeout=TOGGLE_TIMEOUT,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["active"] == ["slow-failover"]

        wait_for(lambda: time.monotonic() > asked + cooldown, timeout=cooldown + 1, what="the command cooldown")
        second = world.verify("/verify-staging failover")
        verdicts = {"environment": environment, "trigger": "comment"}
        failed = settled(world, "verify_staging_verification_last_timestamp_seconds", **verdicts, conclusion="failure")
        metrics = world.metrics()
        changes = [e for e in world.truth() if e["event"] == "fault_changed"]
    assert second.conclusions() == {"failover": "failure"}, second.scenario("failover")["output"]
    after = gauge(metrics, "verify_staging_measurement_seconds", **latency)
    assert after is not None and after > threshold, (before, after, threshold)
    print(f"failover latency: {before:.1f} s, then {after:.1f} s with slow-failover (threshold {threshold:g} s)")
    passed = gauge(metrics, "verify_staging_verification_last_timestamp_seconds", **verdicts, conclusion="success")
    assert passed is not None and failed > passed
    assert [(c["fault"], c["on"]) for c in changes] == [("slow-failover", True)]
