"""A push to the pull request while it is being verified, on the lab: GitHub's `pull_request` `synchronize` reaches
the bot, which stops the verification, starts again what it stopped, and concludes it `cancelled` naming the new
head, so nothing green is left on the commit that was asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import restarted_the_runner_it_stopped, running_world

pytestmark = pytest.mark.lab


def test_a_push_during_a_verification_cancels_it_and_restores_the_runner(tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        asked_at = world.head_sha
        before = max((int(r["id"]) for r in world.check_runs()), default=0)
        start = len(world.truth())
        world.comment("/verify-staging failover")
        world.wait_event("runner_stopped", since=start, what="failover to stop the primary runner")
        pushed = world.gh_json(
            "POST", f"/_lab/pulls/{world.pull_number}/push", body={"user": world.state["authorized_user"]}
        )
        new_head = str(pushed["head_sha"])
        assert new_head != asked_at

        verdict = world.wait_verdict(after_id=before)  # the check runs on the commit that was asked for
        assert verdict.overall["conclusion"] == "cancelled"
        assert new_head in verdict.overall["output"]["summary"]
        assert verdict.conclusions() == {"failover": "cancelled"}
        verification = world.latest_verification()
        assert verification is not None and verification.conclusion is not None
        assert verification.conclusion.value == "cancelled"
        assert new_head in (verification.reason or "")
        assert verification.restorations and all(r.ok for r in verification.restorations)
        events = world.truth()[start:]
        assert restarted_the_runner_it_stopped(events)
        world.wait_runners_online()
