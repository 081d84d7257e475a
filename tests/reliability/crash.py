"""Killing the bot (SIGKILL) in the middle of a verification on the lab, restarting it on the same database, and
reading what a user and the lab see afterwards: the verdict, and whether any fault the bot injected is left in place.
Shared by tests/reliability/test_crash_recovery.py and benchmarks/crash_trials.py."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import yaml

from bot.texts.reports import VERIFICATION_HEADLINE
from tests.e2e.harness import Verdict, World
from tests.support.wait import wait_for

#: What each scenario that does harm stops first (a lab-truth.jsonl event).
HARM = {"failover": "runner_stopped", "rollback": "service_stopped", "monitoring": "runner_stopped"}
CANCELLED_HEADLINE = next(text for key, text in VERIFICATION_HEADLINE.items() if key and key.value == "cancelled")
RESTORE_TIMEOUT = 60.0
VERDICT_TIMEOUT = 120.0


@dataclass
class Crash:
    """One verification interrupted by SIGKILL and what followed the restart."""

    scenario: str
    killed_at_truth: int  # number of truth lines when the bot was killed
    verdict: Verdict | None = None
    report: dict[str, Any] | None = None
    comments: list[str] = field(default_factory=list)


def env_settings(world: World) -> dict[str, Any]:
    raw = yaml.safe_load(open(str(world.state["settings_path"]), encoding="utf-8"))
    environments: dict[str, Any] = raw["environments"]
    return next(iter(environments.values()))


def primary_runner(world: World) -> str:
    return str(next(r["name"] for r in env_settings(world)["runners"] if r["role"] == "primary"))


def backend_up(world: World) -> bool:
    with contextlib.suppress(requests.RequestException, ValueError):
        response = requests.get(env_settings(world)["backend"]["health_url"], timeout=3)
        return response.status_code == 200 and response.json().get("status") == "UP"
    return False


def faults_left(world: World) -> list[str]:
    """What is not running as it should: the primary runner (REST: online) and the backend (health UP)."""
    left = []
    runner = world.runners().get(primary_runner(world))
    if runner is None or runner["status"] != "online":
        left.append(f"runner {primary_runner(world)} {runner['status'] if runner else 'missing'}")
    if not backend_up(world):
        left.append("backend not UP")
    return left


def wait_restored(world: World, *, timeout: float = RESTORE_TIMEOUT) -> list[str]:
    """Faults still in place after waiting (bounded) for them to go; [] when everything runs again."""
    deadline = time.monotonic() + timeout
    while True:
        left = faults_left(world)
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.5)


def truth_since(world: World, start: int) -> list[dict[str, Any]]:
    return world.truth()[start:]


def crash(world: World, scenario: str, *, kill_when: Callable[[list[dict[str, Any]], float], bool]) -> Crash:
    """Comment `/verify-staging scenario`, SIGKILL the bot once `kill_when(new truth events, seconds since the
    comment)` holds, restart it on the same database, and wait (bounded) for the overall check run to complete."""
    before_check = max((int(r["id"]) for r in world.check_runs()), default=0)
    before_comment = max((int(c["id"]) for c in world.issue_comments()), default=0)
    start = len(world.truth())
    posted = time.monotonic()
    world.comment(f"/verify-staging {scenario}")
    wait_for(
        lambda: kill_when(truth_since(world, start), time.monotonic() - posted),
        timeout=VERDICT_TIMEOUT,
        what=f"the moment to kill the bot during {scenario}",
        interval=0.1,
    )
    killed_at = len(world.truth())
    world.kill_bot()
    world.start_bot()
    result = Crash(scenario, killed_at)
    with contextlib.suppress(AssertionError):
        result.verdict = world.wait_verdict(after_id=before_check, timeout=VERDICT_TIMEOUT)
    stored = world.latest_verification()
    result.report = stored.to_report() if stored is not None else None
    result.comments = [str(c["body"]) for c in world.bot_comments(since_id=before_comment)]
    return result


def harm_done(scenario: str) -> Callable[[list[dict[str, Any]], float], bool]:
    """Kill once the scenario's fault is in place (its first stop event in the truth log)."""
    return lambda events, _: any(e["event"] == HARM[scenario] for e in events)


def job_running_after_harm(scenario: str) -> Callable[[list[dict[str, Any]], float], bool]:
    """Kill while a job runs with the fault in place: the first job taken by a runner after the scenario's stop."""

    def ready(events: list[dict[str, Any]], _: float) -> bool:
        harmed = next((i for i, e in enumerate(events) if e["event"] == HARM[scenario]), None)
        return harmed is not None and any(e["event"] == "job_assigned" for e in events[harmed + 1 :])

    return ready


def after(seconds: float) -> Callable[[list[dict[str, Any]], float], bool]:
    return lambda _, elapsed: elapsed >= seconds
