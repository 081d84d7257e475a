"""The contract's fault table, end to end: the lab with faults, the bot as `verify-staging serve`, a
`/verify-staging` comment, and the verdicts exactly as the contract says, each failure explained where people look.

Faults that touch different scenarios share one lab start (each start costs ~10 s): no-concurrency, no-secondary,
no-rollback and missing-alert-rule break one scenario each; slow-failover and no-notification likewise.
slow-deploy and redis-down both break normal-deploy, so each has its own lab.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .checks import assert_measurements_match_truth, assert_verdicts
from .harness import Verdict, World, running_world

pytestmark = pytest.mark.lab

ALL = ("normal-deploy", "concurrency", "failover", "rollback", "monitoring")


class Outcome:
    """One verification on a lab started with some faults: what the user saw and the bot's report."""

    def __init__(self, world: World, text: str) -> None:
        self.world = world
        self.before_comment = max((int(c["id"]) for c in world.issue_comments()), default=0)
        began = time.monotonic()
        self.verdict: Verdict = world.verify(text)
        self.seconds = time.monotonic() - began
        stored = world.latest_verification()
        assert stored is not None
        self.report: dict[str, Any] = stored.to_report()
        print(f"lab {world.faults}: start {world.lab_start_s:.1f} s, verification {self.seconds:.1f} s")

    def check(self, expected: dict[str, set[str]]) -> None:
        assert_verdicts(self.world, self.verdict, self.report, expected, before_comment=self.before_comment)


@contextlib.contextmanager
def outcome(tmp: Path, faults: tuple[str, ...], text: str) -> Iterator[Outcome]:
    with running_world(tmp, faults=faults) as world:
        yield Outcome(world, text)


@pytest.fixture(scope="module")
def four_faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    faults = ("no-concurrency", "no-secondary", "no-rollback", "missing-alert-rule")
    with outcome(tmp_path_factory.mktemp("four-faults"), faults, "/verify-staging") as result:
        yield result


@pytest.fixture(scope="module")
def slow_failover_no_notification(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    faults = ("slow-failover", "no-notification")
    with outcome(tmp_path_factory.mktemp("slow-failover"), faults, "/verify-staging") as result:
        yield result


@pytest.fixture(scope="module")
def unreliable_github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    faults = ("webhook-loss", "webhook-chaos", "github-flaky")
    with outcome(tmp_path_factory.mktemp("unreliable"), faults, "/verify-staging") as result:
        yield result


def test_each_fault_fails_only_the_scenario_it_breaks_for_the_right_criterion(four_faults: Outcome) -> None:
    four_faults.check(
        {
            "normal-deploy": set(),
            # One primary runner serialises the two deploy jobs anyway: what overlaps without the concurrency group
            # is the runs (the second starts, not held, before the first completes).
            "concurrency": {"second-held", "second-started-after"},
            # Nothing takes the job: the scenario stops there, with the contract's reason.
            "failover": {"secondary-runner"},
            "rollback": {"rollback-ran", "version-restored", "incident-issue", "rollback-duration"},
            "monitoring": {"alert-rules"},
        }
    )


def test_the_broken_world_is_left_as_it_was_found(four_faults: Outcome) -> None:
    world = four_faults.world
    assert all(r["ok"] for r in four_faults.report["restorations"]), four_faults.report["restorations"]
    assert {r["status"] for r in world.runners().values()} == {"online"}


def test_slow_failover_fails_on_latency_and_no_notification_on_notification(
    slow_failover_no_notification: Outcome,
) -> None:
    slow_failover_no_notification.check(
        {
            "normal-deploy": set(),
            "concurrency": set(),
            "failover": {"failover-latency"},
            "rollback": set(),
            # The fault removes the route, so the alert is neither routed to on-call nor notified.
            "monitoring": {"routed-to-oncall", "notification-sent"},
        }
    )


def test_slow_deploy_fails_normal_deploy_on_duration(tmp_path: Path) -> None:
    with outcome(tmp_path, ("slow-deploy",), "/verify-staging normal-deploy") as result:
        result.check({"normal-deploy": {"deployment-duration"}})


def test_redis_down_fails_normal_deploy_on_health_checks(tmp_path: Path) -> None:
    with outcome(tmp_path, ("redis-down",), "/verify-staging normal-deploy") as result:
        result.check({"normal-deploy": {"health-check-job", "backend-health", "run-succeeded"}})


def test_lost_duplicated_reordered_webhooks_and_a_flaky_api_change_nothing(unreliable_github: Outcome) -> None:
    unreliable_github.check({sid: set() for sid in ALL})
    truth = unreliable_github.world.truth()
    assert any(e["event"] == "webhook_dropped" for e in truth), "the fault dropped no delivery"
    assert any(e["event"] in ("rest_502", "rest_rate_limited") for e in truth), "the fault failed no REST call"


def test_measurements_under_unreliable_github_equal_the_truth(unreliable_github: Outcome) -> None:
    compared = assert_measurements_match_truth(unreliable_github.world, unreliable_github.report)
    assert {"deployment_duration_s", "queue_s"} <= set(compared["normal-deploy"])
    assert "failover_latency_s" in compared["failover"]
    assert "rollback_s" in compared["rollback"]
