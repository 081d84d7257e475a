"""The check run's buttons as a person uses them in GitHub's UI, on the lab: the click arrives as GitHub's
`check_run` `requested_action` webhook, and the bot acts on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import OVERALL_CHECK, restarted_the_runner_it_stopped, running_world

pytestmark = pytest.mark.lab


def test_abort_stops_the_verification_at_a_safe_point_and_restores_what_it_stopped(tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        before = max((int(r["id"]) for r in world.check_runs()), default=0)
        start = len(world.truth())
        world.comment("/verify-staging failover rollback")
        world.wait_event("runner_stopped", since=start, what="failover to stop the primary runner")
        overall = next(r for r in world.check_runs() if int(r["id"]) > before and r["name"] == OVERALL_CHECK)
        clicked = world.gh(
            "POST",
            f"/_lab/check-runs/{overall['id']}/requested-action",
            body={"identifier": "abort", "user": world.state["authorized_user"]},
        )
        assert clicked.status_code == 201, clicked.text

        verdict = world.wait_verdict(after_id=before)
        assert verdict.overall["conclusion"] == "cancelled"
        assert verdict.conclusions()["rollback"] in ("cancelled", "skipped")  # never started: nothing more harmed
        events = world.truth()[start:]
        assert not any(e["event"] == "service_stopped" for e in events)
        assert restarted_the_runner_it_stopped(events)
        world.wait_runners_online()
