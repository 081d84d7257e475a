"""Concurrency groups, label routing, re-queueing, runner sessions and processes, on real runner agents."""

from __future__ import annotations

import itertools
import os
from dataclasses import replace

from lab.github.concurrency import cancel_message
from tests.lab.github.conftest import FAST, REPO, Lab, StartLab, sleep_job, workflow
from tests.support.wait import wait_until

GROUP = {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}


def _grouped(queue: str = "single", seconds: float = 0.8) -> dict[str, object]:
    return workflow({"deploy": sleep_job("ubuntu-latest", seconds)}, concurrency={**GROUP, "queue": queue})


def _job_times(lab: Lab, run_id: int) -> tuple[float, float]:
    job = next(iter(lab.github.sim.actions.runs[run_id].jobs.values()))
    assert job.started_at is not None and job.completed_at is not None
    return job.started_at.timestamp(), job.completed_at.timestamp()


async def test_three_dispatches_into_one_group(start_lab: StartLab) -> None:
    lab = await start_lab(workflows={".github/workflows/ci.yml": _grouped()})
    await lab.github.spawn_hosted_pool()
    first = await lab.dispatch(environment="staging", test_id="1")
    second = await lab.dispatch(environment="staging", test_id="2")
    assert (await lab.run(second))["status"] == "pending"  # held by the group, as REST shows it
    third = await lab.dispatch(environment="staging", test_id="3")
    assert (await lab.run(second))["conclusion"] == "cancelled"
    assert (await lab.run(third))["status"] == "pending"
    assert (await lab.wait_run(first))["conclusion"] == "success"
    assert (await lab.wait_run(third))["conclusion"] == "success"
    cancelled = [e for e in lab.truth.events("run_cancelled") if e.fields["run_id"] == second]
    assert cancelled[0].fields["message"] == cancel_message("deploy-staging")
    assert (
        cancel_message("deploy-staging")
        == "Canceling since a higher priority waiting request for deploy-staging exists"
    )
    assert _job_times(lab, third)[0] >= _job_times(lab, first)[1]
    assert await lab.jobs(second) == []


async def test_groups_differ_by_input_and_compare_case_insensitively(start_lab: StartLab) -> None:
    lab = await start_lab(workflows={".github/workflows/ci.yml": _grouped(seconds=0.3)})
    await lab.github.spawn_hosted_pool()
    staging = await lab.dispatch(environment="staging")
    other = await lab.dispatch(environment="qa")
    upper = await lab.dispatch(environment="STAGING")
    assert (await lab.run(other))["status"] != "pending"
    assert (await lab.run(upper))["status"] == "pending"
    for run_id in (staging, other, upper):
        assert (await lab.wait_run(run_id))["conclusion"] == "success"


async def test_queue_max_keeps_every_waiting_run_in_order(start_lab: StartLab) -> None:
    lab = await start_lab(workflows={".github/workflows/ci.yml": _grouped("max", seconds=0.3)})
    await lab.github.spawn_hosted_pool()
    runs = [await lab.dispatch(environment="staging", test_id=str(n)) for n in range(4)]
    for run_id in runs:
        assert (await lab.wait_run(run_id))["conclusion"] == "success"
    spans = [_job_times(lab, run_id) for run_id in runs]
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(spans))
    assert lab.truth.events("run_cancelled") == []


async def test_job_goes_to_the_runner_whose_labels_match(start_lab: StartLab) -> None:
    flow = workflow(
        {
            "secondary": sleep_job(["self-hosted", "production", "secondary"], 0.2),
            "gpu": sleep_job(["self-hosted", "gpu"], 0.2),
        }
    )
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    await lab.github.spawn_runner("production-runner-01")
    await lab.github.spawn_runner("production-runner-02")
    run_id = await lab.dispatch(environment="staging")
    sim = lab.github.sim.actions
    await wait_until(lambda: sim.runs[run_id].jobs["secondary"].status == "completed")
    assert sim.runs[run_id].jobs["secondary"].runner_name == "production-runner-02"
    assert sim.runs[run_id].jobs["gpu"].status == "queued"  # no runner has the gpu label
    await lab.call("POST", f"/repos/{REPO}/actions/runs/{run_id}/cancel")
    assert (await lab.wait_run(run_id))["conclusion"] == "cancelled"


async def test_job_not_acquired_in_time_is_requeued_to_another_runner(start_lab: StartLab) -> None:
    lab = await start_lab(workflows={".github/workflows/ci.yml": workflow({"d": sleep_job(["production"], 0.2)})})
    # A runner that takes its session and polls but never acquires the job it is offered.
    headers = {"Authorization": "Bearer tok-01"}
    async with lab.http.post(
        lab.api("/_lab/runner/sessions"), json={"name": "production-runner-01"}, headers=headers
    ) as a:
        sid = (await a.json())["session_id"]
    run_id = await lab.dispatch(environment="staging")
    async with lab.http.get(lab.api(f"/_lab/runner/sessions/{sid}/jobs?wait=1"), headers=headers) as offered:
        assert offered.status == 200
    await lab.github.spawn_runner("production-runner-02")
    await wait_until(lambda: bool(lab.truth.events("job_requeued")), timeout=5)
    requeued = lab.truth.events("job_requeued")[0]
    assert requeued.fields["runner"] == "production-runner-01"
    offered_at = lab.truth.events("job_queued")[0].at
    assert (requeued.at - offered_at).total_seconds() >= FAST.acquire_timeout
    jobs = await lab.jobs((await lab.wait_run(run_id))["id"])
    assert jobs[0]["runner_name"] == "production-runner-02"


async def test_queued_job_fails_after_the_queue_timeout(start_lab: StartLab) -> None:
    flow = workflow({"d": sleep_job(["self-hosted", "nowhere"], 0.1)})
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow}, timing=replace(FAST, queue_timeout=0.5))
    run_id = await lab.dispatch(environment="staging")
    run = await lab.wait_run(run_id, timeout=5)
    assert run["conclusion"] == "failure"


async def test_graceful_stop_is_offline_at_once_and_kill_after_the_heartbeat_timeout(start_lab: StartLab) -> None:
    lab = await start_lab()
    pool = lab.github.sim.actions.pool
    await lab.github.spawn_runner("production-runner-01")
    await lab.github.spawn_runner("production-runner-02")
    both = ("production-runner-01", "production-runner-02")
    await wait_until(lambda: all(pool.runners[name].online for name in both))

    await lab.github.stop_runner("production-runner-01")
    assert not pool.runners["production-runner-01"].online  # before stop_runner returned
    await lab.github.kill_runner("production-runner-02")
    assert pool.runners["production-runner-02"].online  # a dead process is not noticed at once
    await wait_until(lambda: not pool.runners["production-runner-02"].online, timeout=FAST.heartbeat_timeout + 3)

    def delay(runner: str) -> float:
        stopped = next(e for e in lab.truth.events("runner_stopped") if e.fields["runner"] == runner)
        offline = next(e for e in lab.truth.events("runner_offline") if e.fields["runner"] == runner)
        return (offline.at - stopped.at).total_seconds()

    assert delay("production-runner-01") < 0.5
    assert FAST.heartbeat_timeout <= delay("production-runner-02") < FAST.heartbeat_timeout + FAST.long_poll + 1
    _status, body = await lab.call("GET", f"/repos/{REPO}/actions/runners")
    assert {r["status"] for r in body["runners"]} == {"offline"}


async def test_stopping_a_runner_mid_job_fails_the_job_with_githubs_message(start_lab: StartLab) -> None:
    lab = await start_lab(workflows={".github/workflows/ci.yml": workflow({"d": sleep_job(["primary"], 5)})})
    await lab.github.spawn_runner("production-runner-01")
    run_id = await lab.dispatch(environment="staging")
    await wait_until(lambda: bool(lab.truth.events("job_assigned")), timeout=5)
    await lab.github.stop_runner("production-runner-01")
    run = await lab.wait_run(run_id, timeout=5)
    job = next(iter(lab.github.sim.actions.runs[run_id].jobs.values()))
    assert run["conclusion"] == "failure"
    assert job.message is not None and "shutdown signal" in job.message


async def test_no_agent_process_survives_stop(start_lab: StartLab) -> None:
    lab = await start_lab()
    agents = [
        await lab.github.spawn_hosted_pool(),
        await lab.github.spawn_runner("production-runner-01"),
        await lab.github.spawn_runner("production-runner-02"),
    ]
    await wait_until(lambda: all(r.online for r in lab.github.sim.actions.pool.runners.values()))
    await lab.github.stop()
    for agent in agents:
        assert agent.process.returncode is not None
        assert not os.path.exists(f"/proc/{agent.pid}")


async def test_job_level_group_serialises_jobs_of_different_runs(start_lab: StartLab) -> None:
    job = sleep_job("ubuntu-latest", 0.5, concurrency={"group": "deploy-job"})
    lab = await start_lab(workflows={".github/workflows/ci.yml": workflow({"deploy": job})})
    await lab.github.spawn_hosted_pool()
    first = await lab.dispatch(environment="a")
    second = await lab.dispatch(environment="b")
    assert (await lab.wait_run(first))["conclusion"] == "success"
    assert (await lab.wait_run(second))["conclusion"] == "success"
    assert _job_times(lab, second)[0] >= _job_times(lab, first)[1]


async def test_cancel_in_progress_cancels_the_running_run(start_lab: StartLab) -> None:
    flow = workflow({"deploy": sleep_job("ubuntu-latest", 3)}, concurrency={**GROUP, "cancel-in-progress": True})
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    await lab.github.spawn_hosted_pool()
    first = await lab.dispatch(environment="staging")
    await wait_until(lambda: lab.github.sim.actions.runs[first].status == "in_progress", timeout=5)
    second = await lab.dispatch(environment="staging")
    assert (await lab.run(first))["conclusion"] == "cancelled"
    assert (await lab.run(second))["status"] in ("queued", "in_progress")
    await lab.call("POST", f"/repos/{REPO}/actions/runs/{second}/cancel")
    assert (await lab.wait_run(second))["conclusion"] == "cancelled"


async def test_step_outputs_flow_into_later_steps_and_job_outputs(start_lab: StartLab) -> None:
    flow = workflow(
        {
            "pick": {
                "runs-on": "ubuntu-latest",
                "outputs": {"role": "${{ steps.choose.outputs.role }}"},
                "steps": [
                    {"id": "choose", "uses": "lab.github.steps:echo", "with": {"role": "secondary"}},
                    {"uses": "lab.github.steps:echo", "with": {"message": "got ${{ steps.choose.outputs.role }}"}},
                ],
            },
            "use": sleep_job(["self-hosted", "${{ needs.pick.outputs.role }}"], 0.1, needs="pick"),
        }
    )
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    await lab.github.spawn_hosted_pool()
    await lab.github.spawn_runner("production-runner-02")
    run_id = await lab.dispatch(environment="staging")
    assert (await lab.wait_run(run_id))["conclusion"] == "success"
    jobs = {j["name"]: j for j in await lab.jobs(run_id)}
    assert jobs["use"]["labels"] == ["self-hosted", "secondary"]
    assert jobs["use"]["runner_name"] == "production-runner-02"
    assert [s["name"] for s in jobs["pick"]["steps"]] == [
        "Set up job",
        "lab.github.steps:echo",
        "lab.github.steps:echo",
        "Complete job",
    ]
    assert all(s["conclusion"] == "success" for s in jobs["pick"]["steps"])


async def test_a_queued_job_waits_for_a_matching_runner_to_come_online(start_lab: StartLab) -> None:
    flow = workflow({"deploy": sleep_job(["self-hosted", "production", "secondary"], 0.2)})
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    run_id = await lab.dispatch(environment="staging")
    sim = lab.github.sim.actions
    await wait_until(lambda: bool(lab.truth.events("job_queued")))
    job = sim.runs[run_id].jobs["deploy"]
    # No runner is online: the job is queued, with no runner, as GitHub reports it.
    assert job.status == "queued" and job.runner_name is None
    await lab.github.spawn_runner("production-runner-02")
    await wait_until(lambda: sim.runs[run_id].jobs["deploy"].status == "completed", timeout=10)
    job = sim.runs[run_id].jobs["deploy"]
    assert job.runner_name == "production-runner-02" and job.conclusion == "success"
    online = next(e for e in lab.truth.events("runner_online") if e.fields["runner"] == "production-runner-02")
    assigned = lab.truth.events("job_assigned")[0]
    assert assigned.at >= online.at  # it was taken only once the runner had come online
