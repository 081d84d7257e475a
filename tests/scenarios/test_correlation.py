"""Correlation: the same runs and jobs, whatever the order, duplication or loss of webhooks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.github.models import WorkflowJob, WorkflowRun
from scenarios.correlation import (
    BUFFER_SECONDS,
    MAX_TRACKED_RUNS,
    Correlator,
    Dispatch,
    WaitTimeout,
    job_matches,
)
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHubRepo

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def at(s: int) -> datetime:
    return T0 + timedelta(seconds=s)


RUN = WorkflowRun(7, "Deploy", "Deploy staging vs-abc", "workflow_dispatch", "queued", None, "a" * 40, "main",
                  ".github/workflows/ci.yml", at(0), at(0), at(0), None)  # fmt: skip
JOB = WorkflowJob(70, 7, "deploy", "queued", None, ("self-hosted",), None, None, at(1), at(1), None, None, "Deploy")
#: How the run and its deploy job end: their last webhooks, and what GitHub's REST API answers afterwards.
RUN_DONE = replace(RUN, status="completed", conclusion="success", updated_at=at(9))
JOB_DONE = replace(JOB, status="completed", conclusion="success", runner_name="production-runner-01", started_at=at(3),
                   completed_at=at(8))  # fmt: skip


def history() -> list[WorkflowRun | WorkflowJob]:
    """A run's and its deploy job's webhooks in the order GitHub produced them."""
    return [
        RUN,
        replace(RUN, status="in_progress", updated_at=at(1)),
        JOB,
        replace(JOB, status="in_progress", runner_name="production-runner-01", started_at=at(3)),
        JOB_DONE,
        RUN_DONE,
    ]


def feed(events: list[WorkflowRun | WorkflowJob]) -> Correlator:
    correlator = Correlator(repo=FakeGitHubRepo(), clock=FakeClock(start=T0), reconcile_after=5)
    for e in events:
        if isinstance(e, WorkflowRun):
            correlator.observe_run(e)
        else:
            correlator.observe_job(e)
    return correlator


def outcome(c: Correlator) -> tuple[object, ...]:
    track = c.find(Dispatch(test_id="vs-abc", workflow="ci.yml", dispatched_at=T0))
    assert track is not None
    job = track.job("deploy")
    assert job is not None
    return (track.run.status, track.run.conclusion, job.status, job.runner_name, job.started_at, job.completed_at)


IN_ORDER = outcome(feed(history()))


@settings(max_examples=200, deadline=None)
@given(st.permutations(range(6)), st.lists(st.integers(0, 5), max_size=6))
def test_any_order_and_duplicates_give_the_same_state(order: list[int], dupes: list[int]) -> None:
    events = history()
    shuffled = [events[i] for i in order] + [events[i] for i in dupes]
    expected = ("completed", "success", "completed", "production-runner-01", at(3), at(8))
    assert outcome(feed(shuffled)) == IN_ORDER == expected


async def test_lost_events_are_recovered_by_one_rest_reconciliation() -> None:
    repo = FakeGitHubRepo()
    repo.runs[7] = RUN_DONE
    repo.jobs[70] = JOB_DONE
    c = Correlator(repo=repo, clock=FakeClock(start=T0), reconcile_after=5)
    c.observe_run(RUN)  # only the first delivery arrived
    await c.reconcile(Dispatch(test_id="vs-abc", workflow="ci.yml", dispatched_at=T0))
    assert outcome(c) == IN_ORDER
    assert c.reconciliations == 1


async def test_events_before_the_dispatch_answer_are_kept_and_found_by_title() -> None:
    c = Correlator(repo=FakeGitHubRepo(), clock=FakeClock(start=T0), reconcile_after=5)
    c.observe_job(JOB)  # a job event before any run event, before we even know the run id
    c.observe_run(RUN)
    track = c.find(Dispatch(test_id="vs-abc", workflow="ci.yml", dispatched_at=T0))
    assert track is not None and track.job("deploy") == JOB


def test_jobs_are_found_by_name_or_matrix_suffix() -> None:
    assert job_matches("deploy", "deploy")
    assert job_matches("deploy (staging, 1)", "deploy")
    assert not job_matches("deploy-docs", "deploy")


async def test_a_silent_long_job_is_reconciled_with_backoff_not_at_a_fixed_interval() -> None:
    # GitHub sends nothing while a job runs: a 200 s deploy with reconcile_after=5 must not cost 40 REST rounds.
    repo = FakeGitHubRepo()
    repo.runs[7] = replace(RUN, status="in_progress")
    clock = FakeClock(start=T0)
    c = Correlator(repo=repo, clock=clock, reconcile_after=5)
    c.observe_run(repo.runs[7])
    dispatch = Dispatch(test_id="vs-abc", workflow="ci.yml", dispatched_at=T0, run_id=7)
    async with clock.running():
        with pytest.raises(WaitTimeout):
            await c.wait_for(dispatch, lambda t: True if t.run.status == "completed" else None, timeout=200, what="x")
    # Quiet periods of 5, 10, 20, 40, then 40 s (the cap, 8 x 5 s) until the deadline: 5 + 10 + 20 + 40*4 = 195 s.
    assert c.reconciliations == 7


def test_jobs_of_runs_never_seen_are_not_kept_forever() -> None:
    clock = FakeClock(start=T0)
    c = Correlator(repo=FakeGitHubRepo(), clock=clock, reconcile_after=5)
    for run_id in range(1, MAX_TRACKED_RUNS + 101):
        c.observe_job(replace(JOB, id=run_id * 10, run_id=run_id))
    assert len(c._orphan_jobs) == MAX_TRACKED_RUNS
    assert 1 not in c._orphan_jobs and MAX_TRACKED_RUNS + 100 in c._orphan_jobs  # the oldest went first
    clock.advance(BUFFER_SECONDS + 1)
    c.observe_job(replace(JOB, id=1, run_id=10_000))  # any event prunes what outlived the buffer
    assert list(c._orphan_jobs) == [10_000]
