"""SIGKILL the bot while a scenario that does harm has its fault in place, restart it on the same database: what it
stopped runs again, and the verification is concluded `cancelled` where the person who asked looks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import World, running_world
from tests.reliability.crash import (
    CANCELLED_HEADLINE,
    HARM,
    crash,
    faults_left,
    harm_done,
    job_running_after_harm,
    wait_restored,
)

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(Path(tmp_path_factory.mktemp("crash"))) as running:
        yield running


KILL_POINTS = {"just after the stop": harm_done, "while a job runs with the fault in place": job_running_after_harm}


@pytest.mark.parametrize(
    ("scenario", "point"),
    [
        ("failover", "just after the stop"),
        ("failover", "while a job runs with the fault in place"),
        ("rollback", "just after the stop"),
        ("rollback", "while a job runs with the fault in place"),
        ("monitoring", "just after the stop"),
    ],
)
def test_killed_with_the_fault_in_place_restores_and_cancels(world: World, scenario: str, point: str) -> None:
    assert faults_left(world) == [], "the lab was not healthy before the crash"
    result = crash(world, scenario, kill_when=KILL_POINTS[point](scenario))

    # The lab's own record: what was stopped was started again after the kill.
    harm = HARM[scenario]
    restarted = harm.replace("_stopped", "_started")
    stopped = [e for e in world.truth()[: result.killed_at_truth] if e["event"] == harm]
    assert stopped, f"no {harm} before the kill"
    subject_key = harm.split("_")[0]
    subject = stopped[-1][subject_key]
    later = world.truth()[result.killed_at_truth :]
    assert any(e["event"] == restarted and e[subject_key] == subject for e in later), f"{subject} never restarted"
    assert wait_restored(world) == []

    assert result.verdict is not None, "the overall check run never completed after the restart"
    assert result.verdict.overall["conclusion"] == "cancelled"
    assert result.comments and CANCELLED_HEADLINE in result.comments[-1]
    assert result.report is not None
    assert result.report["conclusion"] == "cancelled"
    restorations = result.report["restorations"]
    assert restorations and all(r["after_restart"] for r in restorations), restorations
