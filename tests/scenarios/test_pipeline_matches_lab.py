"""The scenario tests' pipeline (tests/scenarios/pipeline.py, on virtual time) and the lab's `Deploy` workflow
(lab/pipeline.py, run by the simulated GitHub) are two readings of one pipeline. For the lab's topology they must
make the same jobs, each created only once the jobs it needs have finished, on the same runner labels, with the
same outputs, and run the rollback under the same condition; a change to one that the other does not follow fails
here.

The lab side is read from the workflow as data and the lab's own pieces: `needs`, `runs-on` and `outputs` through
its expression evaluator, the rollback's `if:` through `evaluate_condition`, and the `role` and `previous_version`
outputs from its real `select_runner` and `deploy` steps (GitHub's runner list stubbed, a temporary release dir).
The scenario side is what the fake pipeline publishes as `workflow_job` events while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from bot.github.models import Runner, WorkflowJob, WorkflowRun
from lab.faults import DEPLOY_LOG_ERROR_MESSAGE
from lab.github.expressions import JobStatus, evaluate_condition, substitute, substitute_all
from lab.github.steps import GitHubAnswer, StepContext
from lab.github.workflow_data import needs_of
from lab.pipeline import (
    COMPONENT_DIRS,
    ENV_RELEASE_DIR,
    PipelineParams,
    deploy,
    deploy_workflow,
    rollback,
    select_runner,
)
from lab.topology import load_topology
from tests.fakes.clock import FakeClock
from tests.fakes.github import DispatchCall, FakeGitHubRepo
from tests.scenarios.pipeline import DEPLOY_LOG_ERROR, FakePipeline, Hooks

TOPOLOGY = load_topology()
PRIMARY = TOPOLOGY.runner("primary").name
#: Virtual seconds one run may take at most (the fake's longest path, a failed health check and a rollback, is ~20 s).
RUN_LIMIT_S = 600.0


@dataclass(frozen=True)
class Situation:
    """What the staging world is like while one pipeline run goes through it."""

    primary_online: bool = True
    backend_healthy: bool = True
    deploy_fails: bool = False


@dataclass
class Job:
    """One job of a run as a reader of the jobs API sees it."""

    name: str
    conclusion: str
    labels: tuple[str, ...]
    #: The jobs of the same run that had finished when this one was created.
    after: frozenset[str]
    outputs: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------- the lab
def lab_workflow() -> dict[str, Any]:
    """The workflow the lab registers for its default topology (no faults), as lab/sim_setup.py builds it."""
    return deploy_workflow(lab_params())


def lab_params() -> PipelineParams:
    timing = TOPOLOGY.timing
    return PipelineParams(
        environment=TOPOLOGY.environment,
        primary_runner=PRIMARY,
        deploy_seconds=timing.deploy_seconds,
        health_check_timeout=timing.health_check_timeout,
        health_check_interval=timing.health_check_interval,
        step_names=tuple(TOPOLOGY.step_names.items()),
    )


@dataclass
class _StubbedGitHub(StepContext):
    """A step context whose REST calls get GitHub's runner list, with the primary online or offline."""

    primary_online: bool = True

    def github(self, method: str, path: str, json: object | None = None, *, timeout: float = 10.0) -> GitHubAnswer:
        assert (method, path.split("?")[0]) == ("GET", f"/repos/{TOPOLOGY.repository}/actions/runners"), path
        runners = [
            {"name": r.name, "status": "online" if self.primary_online or r.role != "primary" else "offline"}
            for r in TOPOLOGY.runners
        ]
        return GitHubAnswer(200, {"total_count": len(runners), "runners": runners})


def _closure(jobs: Mapping[str, Any], key: str) -> set[str]:
    found, todo = set(), list(needs_of(jobs[key]))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(needs_of(jobs[name]))
    return found


#: The lab's step kinds whose outputs a job declares; the others (health_check, rollback) only pass or fail.
STEP_KINDS = {"lab.pipeline:select_runner": select_runner, "lab.pipeline:deploy": deploy}


def _step_outputs(step: Mapping[str, Any], context: Mapping[str, Any], situation: Situation, release: Path) -> Any:
    """Runs one of the lab's step kinds with the step's `with:` (expressions evaluated); returns its outputs."""
    with_ = {k: str(v) for k, v in substitute_all(step.get("with") or {}, context).items()}
    if "seconds" in with_:
        with_["seconds"] = "0"  # lab time is not what this test compares
    env = {"GITHUB_REPOSITORY": TOPOLOGY.repository, ENV_RELEASE_DIR: str(release)}
    ctx = _StubbedGitHub(with_=with_, env=env, primary_online=situation.primary_online)
    STEP_KINDS[step["uses"]](ctx)
    return ctx.outputs


def lab_runs(situation: Situation, test_ids: list[str], release: Path) -> list[dict[str, Job]]:
    """The jobs the simulated GitHub makes of the lab's workflow, one dispatch per test id, in this situation."""
    jobs: dict[str, Any] = lab_workflow()["jobs"]
    runs = []
    for test_id in test_ids:
        inputs = {"environment": TOPOLOGY.environment, "test_mode": "false", "test_id": test_id}
        base = {"inputs": inputs, "github": {"sha": "a" * 40, "repository": TOPOLOGY.repository}}
        done: dict[str, Job] = {}
        for key, spec in jobs.items():  # a topological order: each job's needs come before it
            needs = {n: {"result": done[n].conclusion, "outputs": done[n].outputs} for n in needs_of(spec)}
            context = {**base, "needs": needs}
            status = JobStatus(needs_results=tuple(done[n].conclusion for n in sorted(_closure(jobs, key))))
            if not evaluate_condition(spec.get("if"), context, status):
                done[key] = Job(key, "skipped", (), frozenset(done))
                continue
            runs_on = substitute_all(spec["runs-on"], context)
            labels = tuple([runs_on] if isinstance(runs_on, str) else runs_on)
            failed = (key == "deploy" and situation.deploy_fails) or (
                key == "health-check" and not situation.backend_healthy
            )
            outputs: dict[str, str] = {}
            if not failed:  # a failed job's outputs are not set
                steps = {
                    step["id"]: {"outputs": _step_outputs(step, context, situation, release)}
                    for step in spec["steps"]
                    if step["uses"] in STEP_KINDS
                }
                declared = substitute_all(spec.get("outputs") or {}, {**context, "steps": steps})
                outputs = {k: str(v) for k, v in declared.items()}
            done[key] = Job(key, "failure" if failed else "success", labels, frozenset(done), outputs)
        runs.append(done)
    return runs


# ---------------------------------------------------------------------------------------------------- the fake
async def fake_runs(situation: Situation, test_ids: list[str]) -> list[dict[str, Job]]:
    """The jobs the scenario tests' pipeline publishes, one dispatch after the other, in this situation."""
    clock = FakeClock()
    repo = FakeGitHubRepo()
    repo.runners = {
        r.name: Runner(n, r.name, "online" if situation.primary_online or r.role != "primary" else "offline", False,
                       r.labels)
        for n, r in enumerate(TOPOLOGY.runners, 1)
    }  # fmt: skip
    events: list[WorkflowRun | WorkflowJob] = []
    repo.listeners.append(events.append)
    pipeline = FakePipeline(
        repo=repo, clock=clock, primary=PRIMARY,
        hooks=Hooks(lambda: situation.backend_healthy, lambda version: None, lambda components: None),
        deploy_fails=(lambda run_id, runner: True) if situation.deploy_fails else None,
    )  # fmt: skip
    pipeline.attach()
    run_ids = []
    async with clock.running():
        for test_id in test_ids:
            inputs = {"environment": TOPOLOGY.environment, "test_mode": "false", "test_id": test_id}
            run_id = pipeline.dispatch(DispatchCall(TOPOLOGY.workflow_file, "refs/heads/feature", inputs))
            deadline = clock.monotonic() + RUN_LIMIT_S
            while repo.runs[run_id].status != "completed":
                assert clock.monotonic() < deadline, f"run {run_id} did not complete in {RUN_LIMIT_S:g} virtual s"
                await clock.sleep(0.5)
            run_ids.append(run_id)
    await pipeline.stop()
    return [_observed(events, run_id, pipeline.outputs) for run_id in run_ids]


def _observed(
    events: list[WorkflowRun | WorkflowJob], run_id: int, outputs: Mapping[tuple[int, str], dict[str, str]]
) -> dict[str, Job]:
    jobs: dict[str, Job] = {}
    finished: set[str] = set()
    for event in events:
        if not isinstance(event, WorkflowJob) or event.run_id != run_id:
            continue
        if event.name not in jobs:
            jobs[event.name] = Job(event.name, "", (), frozenset(finished))
        if event.status == "completed":
            job = jobs[event.name]
            job.conclusion, job.labels = str(event.conclusion), tuple(event.labels)
            job.outputs = dict(outputs.get((run_id, event.name), {}))
            finished.add(event.name)
    return jobs


# ---------------------------------------------------------------------------------------------------- the test
SITUATIONS = {
    "healthy": Situation(),
    "primary offline": Situation(primary_online=False),
    "backend unhealthy": Situation(backend_healthy=False),
    "deploy fails": Situation(deploy_fails=True),
}


@pytest.mark.parametrize("situation", SITUATIONS.values(), ids=SITUATIONS.keys())
async def test_the_scenario_pipeline_makes_the_jobs_the_lab_workflow_makes(
    situation: Situation, tmp_path: Path
) -> None:
    test_ids = ["t-1", "t-2"]  # two runs: the second deploy records the first's version as previous
    lab = lab_runs(situation, test_ids, tmp_path / "release")
    fake = await fake_runs(situation, test_ids)
    for lab_jobs, fake_jobs in zip(lab, fake, strict=True):
        assert list(fake_jobs) == list(lab_jobs), "the jobs, in the order they are created"
        for name, expected in lab_jobs.items():
            observed = fake_jobs[name]
            assert observed.conclusion == expected.conclusion, name
            assert observed.after == expected.after, f"{name} is created once {sorted(expected.after)} finished"
            assert observed.outputs == expected.outputs, name
            if expected.conclusion != "skipped":  # the lab leaves a skipped job without labels, the fake keeps them
                assert observed.labels == expected.labels, name


async def test_the_scenario_pipeline_names_and_groups_its_runs_as_the_lab_workflow_does() -> None:
    workflow = lab_workflow()
    repo = FakeGitHubRepo()
    fake = FakePipeline(
        repo=repo, clock=FakeClock(), hooks=Hooks(lambda: True, lambda version: None, lambda components: None)
    )
    fake.attach()
    dispatched = []
    for test_id in ("t-1", "t-2"):
        inputs = {"environment": TOPOLOGY.environment, "test_mode": "false", "test_id": test_id}
        run = repo.runs[fake.dispatch(DispatchCall(TOPOLOGY.workflow_file, "refs/heads/feature", inputs))]
        assert (run.name, run.display_title) == (workflow["name"], substitute(workflow["run-name"], {"inputs": inputs}))
        dispatched.append(run)
    await fake.stop()
    # One concurrency group per environment: the second run waits (pending) instead of cancelling the first.
    assert workflow["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    assert [run.status for run in dispatched] == ["queued", "pending"]


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_under_deploy_log_error_the_lab_deploy_prints_the_fake_pipelines_error_on_the_primary_only(
    role: str, tmp_path: Path
) -> None:
    params = replace(lab_params(), deploy_log_error=DEPLOY_LOG_ERROR_MESSAGE)
    step = deploy_workflow(params)["jobs"]["deploy"]["steps"][0]
    with_ = {**{k: str(v) for k, v in step["with"].items()}, "version": "t-1", "seconds": "0"}
    ctx = StepContext(with_=with_, env={ENV_RELEASE_DIR: str(tmp_path)}, runner_name=TOPOLOGY.runner(role).name)
    deploy(ctx)  # raises StepFailed if it failed: the fault leaves the step green
    printed = [line for line in ctx.lines if line.startswith("##[error]")]
    assert printed == ([DEPLOY_LOG_ERROR] if role == "primary" else [])


@dataclass
class _IssueGitHub(StepContext):
    """A step context whose one REST call, opening the incident issue, succeeds."""

    def github(self, method: str, path: str, json: object | None = None, *, timeout: float = 10.0) -> GitHubAnswer:
        assert (method, path) == ("POST", f"/repos/{TOPOLOGY.repository}/issues"), path
        return GitHubAnswer(201, {"number": 7})


@pytest.mark.parametrize("partial", [False, True], ids=["rollback", "partial-rollback"])
def test_the_lab_rollback_restores_the_components_the_scenario_pipeline_restores(partial: bool, tmp_path: Path) -> None:
    fake = FakePipeline(
        repo=FakeGitHubRepo(), clock=FakeClock(), hooks=Hooks(lambda: True, lambda v: None, lambda c: None)
    )
    restores = ("backend",) if partial else fake.rollback_restores
    params = PipelineParams(
        environment="staging",
        primary_runner=PRIMARY,
        deploy_seconds=0,
        health_check_timeout=1,
        health_check_interval=1,
        rollback_components=restores,
    )
    step = deploy_workflow(params)["jobs"]["rollback"]["steps"][0]
    release = tmp_path / "release"
    env = {"GITHUB_REPOSITORY": TOPOLOGY.repository, ENV_RELEASE_DIR: str(release)}
    for version in ("1.0", "t-1"):  # the version before, then the one whose health check failed
        deploy(StepContext(with_={"version": version, "seconds": "0"}, env=env))
    rollback(_IssueGitHub(with_={**step["with"], "environment": "staging"}, env=env))
    versions = {name: (release / place / "current").read_text() for name, place in COMPONENT_DIRS.items()}
    assert versions == {"backend": "1.0", "frontend": "t-1" if partial else "1.0"}
