"""GitHub neither orders nor guarantees webhooks: the recorded deliveries of a healthy run, permuted, duplicated and
partly dropped, still give the engine's correlation the same job states and the same measurements (drops are
recovered through one REST reconciliation, as on GitHub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.github.models import WorkflowJob, WorkflowRun
from bot.model import parse_ts
from scenarios.correlation import Correlator, Dispatch, RunTrack
from scenarios.timing import queue_s, run_s
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHubRepo

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "recorded" / "healthy-normal-deploy.json"
DATA: dict[str, Any] = json.loads(RECORDED.read_text())
DELIVERIES: list[dict[str, Any]] = DATA["deliveries"]
RUN_ID = next(d["payload"]["workflow_run"]["id"] for d in DELIVERIES if d["event"] == "workflow_run")
RECONCILE_AFTER = 20.0


def github_with_final_state() -> FakeGitHubRepo:
    """The REST API's view once the run is over (what a reconciliation reads)."""
    repo = FakeGitHubRepo()
    rest = DATA["rest"][str(RUN_ID)]
    repo.runs[RUN_ID] = WorkflowRun.from_api(rest["run"])
    for job in rest["jobs"]:
        repo.jobs[job["id"]] = WorkflowJob.from_api(job)
    return repo


def feed(correlator: Correlator, delivery: dict[str, Any]) -> None:
    payload = delivery["payload"]
    if delivery["event"] == "workflow_run":
        correlator.observe_run(WorkflowRun.from_api(payload["workflow_run"]))
    else:
        correlator.observe_job(WorkflowJob.from_api(payload["workflow_job"]))


def the_dispatch() -> Dispatch:
    run = DATA["rest"][str(RUN_ID)]["run"]
    test_id = str(run["display_title"]).split()[-1]
    created = parse_ts(run["created_at"])
    assert created is not None
    return Dispatch(test_id=test_id, workflow=str(run["path"]).rsplit("/", 1)[-1], dispatched_at=created)


async def observe(stream: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """Feed `stream`, then wait as the scenarios do (scenarios/context.py `wait_completed`): for the run to complete,
    reconciling when events are late, and once more when the run is done but some job is not."""
    clock = FakeClock()
    correlator = Correlator(repo=github_with_final_state(), clock=clock, reconcile_after=RECONCILE_AFTER)
    dispatch = the_dispatch()
    for delivery in stream:
        feed(correlator, delivery)
    async with clock.running():

        def completed(track: RunTrack) -> RunTrack | None:
            return track if track.run.status == "completed" else None

        track = await correlator.wait_for(dispatch, completed, timeout=300, what="run to complete")
        named = ("deploy", "health-check")
        if any(j.status != "completed" for j in track.jobs.values()) or any(track.job(n) is None for n in named):
            await correlator.reconcile(dispatch)
            track = correlator.find(dispatch) or track
    return summary(track), correlator.reconciliations


def summary(track: RunTrack) -> dict[str, Any]:
    record = track.record()
    # The jobs the scenarios read; a job nobody reads (select-runner) whose every delivery was lost stays unknown,
    # because asking the REST API for it would cost a call on every healthy run.
    jobs = {
        j.name: (j.status, j.conclusion, j.runner_name, j.created_at, j.started_at, j.completed_at)
        for j in record.jobs
        if j.name in ("deploy", "health-check")
    }
    deploy, health = track.job("deploy"), track.job("health-check")
    return {
        "run": (record.status, record.conclusion),
        "jobs": jobs,
        "deployment_duration_s": run_s(deploy),
        "queue_s": queue_s(deploy),
        "health_check_s": run_s(health),
    }


@st.composite
def disorderly(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bool]:
    """The recorded deliveries, some dropped, some sent twice or three times, in any order; and whether any drop."""
    stream: list[dict[str, Any]] = []
    dropped = False
    for delivery in DELIVERIES:
        copies = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))
        dropped |= copies == 0
        stream += [delivery] * copies
    return draw(st.permutations(stream)), dropped


async def test_the_recording_is_a_healthy_run_with_the_jobs_the_scenarios_read() -> None:
    truth, reconciliations = await observe(DELIVERIES)
    assert reconciliations == 0
    assert truth["run"] == ("completed", "success")
    assert {"deploy", "health-check"} <= set(truth["jobs"])
    assert truth["jobs"]["deploy"][:2] == ("completed", "success")
    assert truth["deployment_duration_s"] is not None and truth["deployment_duration_s"] > 0
    assert truth["queue_s"] is not None and truth["health_check_s"] is not None


@settings(max_examples=60, deadline=None)
@given(case=disorderly())
async def test_any_order_duplicates_and_drops_give_the_same_states_and_measurements(
    case: tuple[list[dict[str, Any]], bool],
) -> None:
    stream, dropped = case
    expected, _ = await observe(DELIVERIES)
    got, reconciliations = await observe(stream)
    assert got == expected
    if not dropped:
        assert reconciliations == 0, "every webhook arrived, yet the REST API was polled"
