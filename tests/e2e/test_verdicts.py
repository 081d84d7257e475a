"""The contract's fault table, end to end: the lab with faults, the bot as `verify-staging serve`, a
`/verify-staging` comment, and the verdicts exactly as the contract says, each failure explained where people look.

Faults that touch different scenarios share one lab start (each start costs ~10 s): no-concurrency, no-secondary,
no-rollback and missing-alert-rule break one scenario each; slow-failover, no-notification and partial-rollback
likewise.
slow-deploy, redis-down and deploy-log-error each break normal-deploy, so each has its own lab.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from lab.faults import DEPLOY_LOG_ERROR_MESSAGE

from .checks import ALL, Outcome, assert_measurements_match_truth, outcome

pytestmark = pytest.mark.lab


def _one_lab(factory: pytest.TempPathFactory, name: str, faults: tuple[str, ...]) -> Iterator[Outcome]:
    """One lab with these faults and one `/verify-staging` of all five, shared by a class's tests."""
    with outcome(factory.mktemp(name), faults, "/verify-staging") as result:
        yield result


class TestFourFaultsInOneLab:
    """Each of these faults breaks a different scenario; one lab, one verification of all five."""

    @pytest.fixture(scope="class")
    @classmethod
    def four_faults(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
        yield from _one_lab(
            tmp_path_factory, "four-faults", ("no-concurrency", "no-secondary", "no-rollback", "missing-alert-rule")
        )

    def test_each_fault_fails_only_the_scenario_it_breaks_for_the_right_criterion(self, four_faults: Outcome) -> None:
        four_faults.check(
            {
                "normal-deploy": set(),
                # One primary runner serialises the two deploy jobs anyway: what overlaps without the concurrency
                # group is the runs (the second starts, not held back, before the first completes).
                "concurrency": {"second-held", "second-started-after"},
                # Nothing takes the job: the scenario stops there, with the contract's reason.
                "failover": {"secondary-runner"},
                # The rollback never ran, so its duration is not evaluated (neither passed nor failed), and both
                # components stay on the failed version.
                "rollback": {"rollback-ran", "version-restored", "no-partial-deployment", "incident-issue"},
                "monitoring": {"alert-rules"},
            }
        )

    def test_measurements_equal_the_truth(self, four_faults: Outcome) -> None:
        # Without the group the second run may deploy first: the overlap must still be the lab's (0 s here).
        compared = assert_measurements_match_truth(four_faults.world, four_faults.report)
        assert compared["concurrency"]["deploy_jobs_overlap_s"][1] == 0.0
        assert compared["concurrency"]["runs_overlap_s"][1] > 0  # the runs themselves overlapped
        assert "failover_latency_s" not in compared.get("failover", {})  # nobody took the job

    def test_concurrency_reasons_quote_the_numbers_they_observed(self, four_faults: Outcome) -> None:
        scenario = next(s for s in four_faults.report["scenarios"] if s["id"] == "concurrency")
        criteria = {c["id"]: c for c in scenario["criteria"]}
        runs, jobs = criteria["second-started-after"], criteria["no-overlap"]
        assert runs["observed"] == scenario["measurements"]["runs_overlap_s"] > 0
        assert jobs["observed"] == scenario["measurements"]["deploy_jobs_overlap_s"] == 0
        assert f"The runs overlapped for {runs['observed']:g} s" in scenario["reason"], scenario["reason"]

    def test_the_broken_world_is_left_running(self, four_faults: Outcome) -> None:
        assert all(r["ok"] for r in four_faults.report["restorations"]), four_faults.report["restorations"]
        assert {r["status"] for r in four_faults.world.runners().values()} == {"online"}


class TestSlowFailoverNoNotificationAndPartialRollback:
    @pytest.fixture(scope="class")
    @classmethod
    def slow(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
        yield from _one_lab(tmp_path_factory, "slow-failover", ("slow-failover", "no-notification", "partial-rollback"))

    def test_failover_fails_on_latency_monitoring_on_notification_and_rollback_on_the_frontend(
        self, slow: Outcome
    ) -> None:
        slow.check(
            {
                "normal-deploy": set(),
                "concurrency": set(),
                "failover": {"failover-latency"},
                # The rollback restored the backend only: the frontend still serves the failed version.
                "rollback": {"no-partial-deployment"},
                # The fault removes the route, so the alert is neither routed to on-call nor notified.
                "monitoring": {"routed-to-oncall", "notification-sent"},
            }
        )
        rollback = next(s for s in slow.report["scenarios"] if s["id"] == "rollback")
        left = next(c for c in rollback["criteria"] if c["id"] == "no-partial-deployment")
        assert left["observed"] == ["frontend"]
        assert "only the backend was rolled back" in rollback["reason"]


def test_slow_deploy_fails_normal_deploy_on_duration(tmp_path: Path) -> None:
    with outcome(tmp_path, ("slow-deploy",), "/verify-staging normal-deploy") as result:
        result.check({"normal-deploy": {"deployment-duration"}})


def test_redis_down_fails_normal_deploy_on_health_checks(tmp_path: Path) -> None:
    with outcome(tmp_path, ("redis-down",), "/verify-staging normal-deploy") as result:
        result.check({"normal-deploy": {"health-check-job", "backend-health", "run-succeeded"}})


def test_deploy_log_error_fails_normal_deploy_on_the_log_and_nothing_else(tmp_path: Path) -> None:
    # All five: the failover's deploy job (on the secondary) has a clean log, so only normal-deploy fails.
    with outcome(tmp_path, ("deploy-log-error",), "/verify-staging") as result:
        result.check({sid: {"deploy-log-clean"} if sid == "normal-deploy" else set() for sid in ALL})
        normal = next(s for s in result.report["scenarios"] if s["id"] == "normal-deploy")
        assert DEPLOY_LOG_ERROR_MESSAGE in normal["reason"]
        # Both deploy logs were read from the signed URL, and the installation token never went there.
        downloads = requests.get(f"{result.world.state['github_api_url']}/_lab/log-downloads", timeout=10).json()
        assert len(downloads) >= 2 and not any(d["authorization"] for d in downloads), downloads


class TestUnreliableGitHub:
    """Lost, duplicated, delayed and reordered webhooks and a flaky REST API together change nothing."""

    @pytest.fixture(scope="class")
    @classmethod
    def unreliable(cls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
        yield from _one_lab(tmp_path_factory, "unreliable", ("webhook-loss", "webhook-chaos", "github-flaky"))

    def test_all_five_still_pass(self, unreliable: Outcome) -> None:
        unreliable.check({sid: set() for sid in ALL})
        truth = unreliable.world.truth()
        assert any(e["event"] == "webhook_dropped" for e in truth), "the fault dropped no delivery"
        assert any(e["event"] in ("rest_502", "rest_rate_limited") for e in truth), "the fault failed no REST call"

    def test_measurements_equal_the_truth(self, unreliable: Outcome) -> None:
        compared = assert_measurements_match_truth(unreliable.world, unreliable.report)
        assert {"deployment_duration_s", "queue_s"} <= set(compared["normal-deploy"])
        assert "failover_latency_s" in compared["failover"]
        assert "rollback_s" in compared["rollback"]
