"""A simulated GitHub Actions deployment pipeline on the fake GitHub (the lab's pipeline, on virtual time).

select-runner (hosted) -> deploy (primary if it is online, else secondary) -> health-check -> rollback (only on
failure). A workflow-level concurrency group holds a second run `pending`, with no jobs, until the first completes.
Runs and jobs are published through FakeGitHubRepo.put_run/put_job, i.e. as webhooks; each job that ran leaves
its log in FakeGitHubRepo.logs, written as GitHub's runner writes it ("Set up job" naming the runner, a group per
step, `##[error]` when a step fails).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.github.models import JobStep, WorkflowJob, WorkflowRun
from lab.faults import DEPLOY_LOG_ERROR_MESSAGE
from tests.fakes.clock import FakeClock
from tests.fakes.github import DispatchCall, FakeGitHubRepo, gh_time

HOSTED = "GitHub Actions 7"
#: What the `deploy-log-error` fault makes the deploy step print while it still exits 0 (the lab's words).
DEPLOY_LOG_ERROR = "##[error]" + DEPLOY_LOG_ERROR_MESSAGE


def job_log(*, runner: str, step: str, lines: Sequence[str], failed: bool, at: datetime) -> str:
    """A job's log as GitHub serves it: a byte-order mark, then every line after the runner's timestamp."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    body = [
        "Current runner version: '2.321.0'",
        f"Runner name: '{runner}'",
        "Runner group name: 'Default'",
        f"Machine name: '{runner}'",
        f"##[group]Run {step}",
        step,
        "##[endgroup]",
        *lines,
        *(["##[error]Process completed with exit code 1."] if failed else []),
        "Cleaning up orphan processes",
    ]
    return "\ufeff" + "".join(f"{stamp} {line}\n" for line in body)


@dataclass
class Timing:
    select_s: float = 1.0
    pickup_s: float = 1.0  # an idle runner takes a queued job this long after it appears
    failover_pickup_s: float = 1.0  # the same for the secondary (slow-failover makes it long)
    deploy_s: float = 5.0
    health_s: float = 2.0
    health_timeout_s: float = 6.0
    rollback_s: float = 3.0


@dataclass
class Hooks:
    """What the pipeline's steps do to the simulated staging world."""

    backend_healthy: Callable[[], bool]
    deployed: Callable[[str], None]
    #: Called with the components the rollback restored (as the lab's rollback step: backend, frontend).
    rolled_back: Callable[[tuple[str, ...]], None]


@dataclass
class FakePipeline:
    repo: FakeGitHubRepo
    clock: FakeClock
    hooks: Hooks
    primary: str = "production-runner-01"
    timing: Timing = field(default_factory=Timing)
    concurrency: bool = True
    rollback: bool = True
    #: The components the rollback restores (fault partial-rollback: the backend only).
    rollback_restores: tuple[str, ...] = ("backend", "frontend")
    incident_label: str = "incident"
    #: A blind health check: the health-check job passes whatever state the backend is in.
    blind_health_check: bool = False
    #: `(run_id, runner) -> True` makes that run's deploy job fail on that runner (after the usual deploy time).
    deploy_fails: Callable[[int, str], bool] | None = None
    #: Runners on which the deploy step prints an `##[error]` line but succeeds (the lab's `deploy-log-error` fault:
    #: the primary).
    deploy_log_error_on: frozenset[str] = frozenset()
    deploy_log_error_line: str = DEPLOY_LOG_ERROR
    #: `runner -> name` the job's log gives in "Set up job" (a runner configured under another name).
    logged_runner: Callable[[str], str] | None = None
    #: Jobs GitHub keeps no log for (job name): their log answers 404.
    no_log: frozenset[str] = frozenset()
    #: `run_id -> seconds` added to that run's select-runner step (to make a later run deploy first).
    select_delay: Callable[[int], float] | None = None
    #: The concurrency group has `cancel-in-progress`: a new run cancels the group's running and pending ones.
    cancel_in_progress: bool = False
    #: GitHub keeps one pending run per group: a newly held run cancels the one already pending.
    one_pending: bool = False
    #: The commit the dispatched branch points at (what its runs and jobs test); a push moves it.
    head_sha: str = "a" * 40
    #: (run id, job name) -> the job's outputs, as the lab's workflow declares them (`label` of select-runner picks
    #: the deploy's runner label; deploy records the version it replaced).
    outputs: dict[tuple[int, str], dict[str, str]] = field(default_factory=dict)
    _installed: str = ""  # the version on the backend host, "" before the first deploy (as the lab's release dir)
    _active: int | None = None
    _pending: list[int] = field(default_factory=list)
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _versions: dict[int, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5000))

    def attach(self) -> None:
        self.repo.on_dispatch = self.dispatch
        self.repo.on_cancel = self.cancel

    def dispatch(self, call: DispatchCall) -> int:
        run_id = next(self._ids)
        now = gh_time(self.clock)
        held = self.concurrency and self._active is not None
        run = WorkflowRun(
            id=run_id, name="Deploy", display_title=f"Deploy {call.inputs.get('environment')} "
            f"{call.inputs.get('test_id')}", event="workflow_dispatch", status="pending" if held else "queued",
            conclusion=None, head_sha=self.head_sha, head_branch=call.ref.removeprefix("refs/heads/"),
            path=f".github/workflows/{call.workflow}",
            created_at=now, updated_at=now, run_started_at=now, html_url=None,
        )  # fmt: skip
        self.repo.put_run(run)
        self._versions[run_id] = call.inputs.get("test_id") or f"v{run_id}"
        if held and self.cancel_in_progress:
            for displaced in self._pending:
                self._set_run(displaced, status="completed", conclusion="cancelled")
            self._pending[:] = [run_id]
            assert self._active is not None
            self.cancel(self._active)
        elif held:
            if self.one_pending:
                for displaced in self._pending:
                    self._set_run(displaced, status="completed", conclusion="cancelled")
                self._pending.clear()
            self._pending.append(run_id)
        else:
            self._start(run_id)
        return run_id

    def _start(self, run_id: int) -> None:
        self._active = run_id if self.concurrency else self._active
        self._tasks[run_id] = asyncio.ensure_future(self._run(run_id, self._versions[run_id]))
        if self.cancel_in_progress:
            self._tasks[run_id].add_done_callback(lambda _: self._cancelled_before_start(run_id))

    def _cancelled_before_start(self, run_id: int) -> None:
        """A task cancelled before its first step never runs `_run`'s `finally`: conclude the run here."""
        if self.repo.runs[run_id].status != "completed":
            self._set_run(run_id, status="completed", conclusion="cancelled")
            self._finish(run_id)

    def cancel(self, run_id: int) -> None:
        task = self._tasks.get(run_id)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # ------------------------------------------------------------------------------------------- a run
    async def _run(self, run_id: int, version: str) -> None:
        self._set_run(run_id, status="in_progress")
        conclusion = "failure"
        try:
            selected = await self._job(run_id, "select-runner", ("ubuntu-latest",), lambda: self._select(run_id))
            role = "primary" if selected == "success-primary" else "secondary"
            # The default topology's role label of each runner is its role's name.
            self.outputs[(run_id, "select-runner")] = {"role": role, "label": role}
            labels = ("self-hosted", "production", role)
            deployed = await self._job(run_id, "deploy", labels, lambda: self._deploy(run_id, version))
            if deployed == "success":
                healthy = await self._job(run_id, "health-check", labels, self._health)
            else:  # as on GitHub (and in the lab): a job whose needs failed is listed, skipped
                healthy = None
                self._skipped(run_id, "health-check", labels)
            failed = deployed != "success" or healthy != "success"
            if self.rollback:
                if failed:
                    await self._job(run_id, "rollback", labels, self._rollback)
                else:
                    self._skipped(run_id, "rollback", labels)
            conclusion = "failure" if failed else "success"
        except asyncio.CancelledError:
            conclusion = "cancelled"
            for job in [j for j in self.repo.jobs.values() if j.run_id == run_id and j.status != "completed"]:
                self._put_job(job, status="completed", conclusion="cancelled", completed_at=gh_time(self.clock))
        finally:
            self._set_run(run_id, status="completed", conclusion=conclusion)
            self._finish(run_id)

    def _finish(self, run_id: int) -> None:
        if self._active == run_id:
            self._active = None
            if self._pending:
                self._start(self._pending.pop(0))

    def _set_run(self, run_id: int, **changes: object) -> None:
        run = replace(self.repo.runs[run_id], updated_at=gh_time(self.clock), **changes)  # type: ignore[arg-type]
        self.repo.put_run(run)

    # ------------------------------------------------------------------------------------------- jobs
    async def _job(self, run_id: int, name: str, labels: tuple[str, ...], body: Callable[[], Awaitable[str]]) -> str:
        now = gh_time(self.clock)
        job = WorkflowJob(
            id=next(self._ids), run_id=run_id, name=name, status="queued", conclusion=None, labels=labels,
            runner_id=None, runner_name=None, created_at=now, started_at=now, completed_at=None,
            head_sha=self.repo.runs[run_id].head_sha, workflow_name="Deploy",
        )  # fmt: skip
        self.repo.put_job(job)
        runner = await self._acquire(labels)
        job = self._put_job(job, status="in_progress", runner_name=runner, started_at=gh_time(self.clock))
        failing = name == "deploy" and self.deploy_fails is not None and self.deploy_fails(run_id, runner)
        try:
            conclusion = await (self._failed_deploy() if failing else body())
        finally:
            if runner != HOSTED:
                self.repo.set_runner(runner, busy=False)
        outcome = conclusion.split("-")[0]
        if name not in self.no_log:
            printed = [self.deploy_log_error_line] if name == "deploy" and runner in self.deploy_log_error_on else []
            self.repo.logs[job.id] = job_log(
                runner=self.logged_runner(runner) if self.logged_runner else runner,
                step=name,
                lines=printed,
                failed=outcome == "failure",
                at=self.clock.now(),
            )
        self._put_job(
            job,
            status="completed",
            conclusion=outcome,
            completed_at=gh_time(self.clock),
            steps=(JobStep(name=f"Run {name}", status="completed", conclusion=outcome, number=1),),
        )
        return conclusion

    def _skipped(self, run_id: int, name: str, labels: tuple[str, ...]) -> None:
        now = gh_time(self.clock)
        self.repo.put_job(
            WorkflowJob(
                id=next(self._ids), run_id=run_id, name=name, status="completed", conclusion="skipped",
                labels=labels, runner_id=None, runner_name=None, created_at=now, started_at=now,
                completed_at=now, head_sha=self.repo.runs[run_id].head_sha, workflow_name="Deploy",
            )
        )  # fmt: skip

    def _put_job(self, job: WorkflowJob, **changes: object) -> WorkflowJob:
        new = replace(job, **changes)  # type: ignore[arg-type]
        self.repo.put_job(new)
        return new

    async def _acquire(self, labels: tuple[str, ...]) -> str:
        """An online idle runner whose labels cover the job's; a job no runner matches waits (forever)."""
        if labels == ("ubuntu-latest",):
            await self.clock.sleep(self.timing.pickup_s)
            return HOSTED
        while True:
            for runner in self.repo.runners.values():
                if runner.online and not runner.busy and set(labels) <= set(runner.labels):
                    self.repo.set_runner(runner.name, busy=True)
                    delay = self.timing.pickup_s if runner.name == self.primary else self.timing.failover_pickup_s
                    await self.clock.sleep(delay)
                    return runner.name
            await self.clock.sleep(0.5)

    # ------------------------------------------------------------------------------------------- steps
    async def _select(self, run_id: int) -> str:
        await self.clock.sleep(self.timing.select_s + (self.select_delay(run_id) if self.select_delay else 0.0))
        primary = self.repo.runners.get(self.primary)
        return "success-primary" if primary is not None and primary.online else "success-secondary"

    async def _deploy(self, run_id: int, version: str) -> str:
        await self.clock.sleep(self.timing.deploy_s)
        self.outputs[(run_id, "deploy")] = {"previous_version": self._installed}
        self._installed = version
        self.hooks.deployed(version)
        return "success"

    async def _failed_deploy(self) -> str:
        await self.clock.sleep(self.timing.deploy_s)
        return "failure"

    async def _health(self) -> str:
        if self.blind_health_check:
            await self.clock.sleep(self.timing.health_s)
            return "success"
        waited = 0.0
        while waited < self.timing.health_timeout_s:
            if self.hooks.backend_healthy():
                await self.clock.sleep(self.timing.health_s)
                return "success"
            await self.clock.sleep(1.0)
            waited += 1.0
        return "failure"

    async def _rollback(self) -> str:
        await self.clock.sleep(self.timing.rollback_s)
        self.hooks.rolled_back(self.rollback_restores)
        self.repo.add_issue(title="Deployment rolled back", labels=[self.incident_label])
        return "success"
