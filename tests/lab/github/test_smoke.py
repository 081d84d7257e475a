"""A dispatched workflow runs end to end on real runner agent processes."""

from __future__ import annotations

from tests.lab.github.conftest import StartLab, sleep_job, workflow


async def test_pipeline_with_needs_outputs_and_failure_branch(start_lab: StartLab) -> None:
    flow = workflow(
        {
            "select": {
                "runs-on": "ubuntu-latest",
                "steps": [{"uses": "lab.github.steps:echo", "with": {"message": "pick", "role": "primary"}}],
            },
            "deploy": {
                **sleep_job(["self-hosted", "production", "${{ needs.select.outputs.role }}"]),
                "needs": "select",
            },
            "check": {
                "runs-on": ["self-hosted", "production", "primary"],
                "needs": "deploy",
                "steps": [{"uses": "lab.github.steps:fail", "with": {"message": "unhealthy"}}],
            },
            "rollback": {**sleep_job("ubuntu-latest", 0.1), "needs": ["deploy", "check"], "if": "failure()"},
            "notify": {**sleep_job("ubuntu-latest", 0.1), "needs": "check"},
        }
    )
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    await lab.github.spawn_hosted_pool()
    await lab.github.spawn_runner("production-runner-01")
    run_id = await lab.dispatch(environment="staging", test_id="t-1")
    run = await lab.wait_run(run_id)
    assert run["display_title"] == "Deploy staging t-1"
    assert run["conclusion"] == "failure"
    jobs = {j["name"]: j for j in await lab.jobs(run_id)}
    assert jobs["deploy"]["runner_name"] == "production-runner-01"
    assert jobs["deploy"]["labels"] == ["self-hosted", "production", "primary"]
    assert jobs["check"]["conclusion"] == "failure"
    assert jobs["rollback"]["conclusion"] == "success"
    assert jobs["notify"]["conclusion"] == "skipped"
    assert jobs["select"]["runner_name"].startswith("GitHub Actions")
