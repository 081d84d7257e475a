"""What a scenario works with: the environment's settings, the ports, recorded steps, criteria and helpers.

A scenario is `async def run(ctx: ScenarioContext) -> None`. It records criteria with `ctx.criterion(...)`,
raises `ScenarioError(reason)` when it cannot be carried out, and wraps each activity in `ctx.step(name)` so the
engine can store it and tell the reporters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.github.models import Runner, WorkflowJob, branch_ref
from bot.model import Criterion, ScenarioResult, Step, StepOutcome
from bot.ports import (
    AlertmanagerPort,
    Clock,
    GitHubRepo,
    GrafanaPort,
    Health,
    HttpProbe,
    PrometheusPort,
    VerificationRequest,
)
from bot.settings import EnvironmentSettings, RunnerRole, RunnerSettings
from bot.texts import reports as texts
from scenarios.correlation import Aborted, Correlator, Dispatch, RunTrack, new_test_id, poll
from scenarios.journal import Journal
from scenarios.pickup import Overdue, QueueWatch, stranded

T = TypeVar("T")

#: Seconds an HTTP health probe may take.
PROBE_TIMEOUT = 5.0

MonitoringFactory = Callable[[EnvironmentSettings], tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]]


class ScenarioError(Exception):
    """The scenario could not be carried out; the message is the reason a person reads."""


class WrongCommit(Exception):
    """A run (or one of its jobs) tested another commit than the one asked for: the scenario fails, and nothing
    that run showed counts as evidence. The message is the reason a person reads."""


@dataclass
class ScenarioContext:
    env: EnvironmentSettings
    request: VerificationRequest
    result: ScenarioResult
    repo: GitHubRepo
    probe: HttpProbe
    monitoring: MonitoringFactory
    clock: Clock
    correlator: Correlator
    journal: Journal
    abort: asyncio.Event
    on_step: Callable[[Step], Awaitable[None]]
    reasons: dict[str, str] = field(default_factory=dict)
    dispatches: list[Dispatch] = field(default_factory=list)  # every run this scenario started

    # ------------------------------------------------------------------------------------------- record
    @asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[Step]:
        """Record one activity: start, end, outcome and error; an abort request stops before it begins."""
        self.check_abort()
        step = Step(name=name, started_at=self.clock.now())
        self.result.steps.append(step)
        await self.on_step(step)
        try:
            yield step
        except BaseException as exc:
            step.outcome = StepOutcome.ERROR
            step.error = str(exc) or type(exc).__name__
            raise
        else:
            step.outcome = step.outcome or StepOutcome.OK
        finally:
            step.completed_at = self.clock.now()
            await asyncio.shield(self.on_step(step))

    def check_abort(self) -> None:
        if self.abort.is_set():
            raise Aborted("abort requested")

    async def poll(
        self,
        probe: Callable[[], Awaitable[T | None]],
        *,
        timeout: float,
        first_interval: float = 1.0,
        max_interval: float = 10.0,
    ) -> T | None:
        """`correlation.poll` bound to this verification's abort event: an abort ends the wait at once."""
        return await poll(
            probe,
            clock=self.clock,
            timeout=timeout,
            first_interval=first_interval,
            max_interval=max_interval,
            abort=self.abort,
        )

    def criterion(
        self,
        id: str,
        description: str,
        passed: bool | None,
        *,
        reason: str,
        observed: Any = None,
        threshold: Any = None,
        unit: str | None = None,
    ) -> bool:
        """Record a success criterion; `reason` is the sentence shown when it did not pass."""
        self.result.criteria.append(Criterion(id, description, passed, observed, threshold, unit))
        if passed is not True:
            self.reasons[id] = reason
        return passed is True

    def within(self, id: str, description: str, seconds: float | None, limit: float, *, reason: str) -> bool:
        """Record a duration criterion: passed when `seconds` is at most `limit`, unknown when it was not measured."""
        passed = None if seconds is None else seconds <= limit
        return self.criterion(id, description, passed, observed=seconds, threshold=limit, unit="s", reason=reason)

    def concluded(self, id: str, description: str, conclusion: str | None, expected: str, *, reason: str) -> bool:
        """Record a criterion on a job's conclusion (None: the job never concluded)."""
        return self.criterion(
            id, description, conclusion == expected, observed=conclusion, threshold=expected, reason=reason
        )

    def deployed_on(self, id: str, deploy: WorkflowJob | None, role: RunnerRole) -> bool:
        """Record on which runner the deploy job ran: passed when it is the runner of this role."""
        wanted, runner = self.runner(role).name, deploy.runner_name if deploy else None
        return self.criterion(
            id,
            f"The deploy job ran on the {role} runner.",
            runner == wanted,
            observed=runner,
            threshold=wanted,
            reason=f"The deploy job ran on {runner or 'no runner'}, not the {role} runner {wanted}.",
        )

    def measure(self, name: str, seconds: float | None) -> float | None:
        """Record a measurement; returns the value as recorded, so a criterion that observes it shows the same."""
        value = None if seconds is None else round(seconds, 3)
        self.result.measurements[name] = value
        return value

    # ------------------------------------------------------------------------------------------- GitHub
    async def dispatch(self) -> Dispatch:
        wf = self.env.workflow
        test_id = new_test_id()
        inputs = {**wf.inputs, wf.test_id_input: test_id}
        dispatch = Dispatch(test_id=test_id, workflow=wf.file, dispatched_at=self.clock.now())
        self.dispatches.append(dispatch)
        dispatch.run_id = await self.repo.dispatch_workflow(
            workflow=wf.file, ref=branch_ref(wf.ref or self.request.ref), inputs=inputs
        )
        return dispatch

    async def wait_run(
        self, dispatch: Dispatch, what: str, condition: Callable[[RunTrack], bool], *, pickup: bool = True
    ) -> RunTrack:
        def check(track: RunTrack) -> RunTrack | None:
            return track if condition(track) else None

        return await self.wait_for(dispatch, check, timeout=self.env.thresholds.run_timeout, what=what, pickup=pickup)

    async def wait_for(
        self,
        dispatch: Dispatch,
        condition: Callable[[RunTrack], T | None],
        *,
        timeout: float,
        what: str,
        pickup: bool = True,
    ) -> T:
        """The correlator's wait, stopped by an abort, by a run that turns out to test another commit and, with
        `pickup`, by a job queued past `thresholds.queue` that no online runner can take (scenarios/pickup.py)."""
        watch = QueueWatch(self.env.thresholds.queue) if pickup else None

        def check(track: RunTrack) -> T | None:
            self.require_commit(track, complete=False)
            value = condition(track)
            if value is None and watch is not None and (job := watch.overdue(track, now=self.clock.now())):
                raise Overdue(job)
            return value

        deadline = self.clock.monotonic() + timeout
        while True:
            left = max(0.0, deadline - self.clock.monotonic())
            tick = watch.tick if watch is not None else None
            try:
                return await self.correlator.wait_for(
                    dispatch, check, timeout=left, what=what, abort=self.abort, tick=tick
                )
            except Overdue as overdue:
                assert watch is not None
                await stranded(self, dispatch, overdue.job, watch)

    def require_commit(self, track: RunTrack, *, complete: bool) -> None:
        """Raise WrongCommit when the run or a job carries a SHA other than the requested head; once the run is
        `complete`, a run that names no SHA at all proves nothing either."""
        expected = self.request.head_sha
        shas = [track.run.head_sha, *(j.head_sha for j in track.jobs.values())]
        wrong = next((sha for sha in shas if sha is not None and sha != expected), None)
        if wrong is None and not (complete and track.run.head_sha is None):
            return
        self.keep_run(track)  # kept for the audit trail: the record shows which commit it tested
        shown = wrong or texts.NO_COMMIT
        reason = texts.TESTED_COMMIT_WRONG.format(run_id=track.run.id, observed=shown, expected=expected)
        self.criterion(
            "tested-requested-commit",
            texts.TESTED_COMMIT_DESCRIPTION,
            False,
            observed=wrong,
            threshold=expected,
            reason=reason,
        )
        raise WrongCommit(reason)

    async def wait_completed(self, dispatch: Dispatch, *, pickup: bool = True) -> RunTrack:
        track = await self.wait_run(
            dispatch, f"run {dispatch.test_id} to complete", lambda t: t.run.status == "completed", pickup=pickup
        )
        named = (self.env.workflow.jobs.deploy, self.env.workflow.jobs.health_check)
        if any(j.status != "completed" for j in track.jobs.values()) or any(track.job(n) is None for n in named):
            # The run says it is done, so every job is: their own webhooks are late or lost (a job whose every
            # delivery was lost is simply absent). Ask once.
            await self.correlator.reconcile(dispatch)
            track = self.correlator.find(dispatch) or track
        self.require_commit(track, complete=True)
        self.keep_run(track)
        return track

    def keep_run(self, track: RunTrack) -> None:
        record = track.record()
        self.result.runs[:] = [r for r in self.result.runs if r.run_id != record.run_id] + [record]

    # ------------------------------------------------------------------------------------------- runners
    def runner(self, role: RunnerRole) -> RunnerSettings:
        return self.env.runner(role)

    async def runner_state(self, name: str) -> Runner | None:
        return next((r for r in await self.repo.list_runners() if r.name == name), None)

    async def wait_runner(self, name: str, *, online: bool, timeout: float) -> float | None:
        """Seconds until GitHub reports the runner online/offline, None if it did not within `timeout`.

        GitHub sends no webhook when a runner goes online or offline, so this is the one wait that polls
        the runners API (with backoff, bounded by `timeout`).
        """
        began = self.clock.monotonic()

        async def check() -> float | None:
            state = await self.runner_state(name)
            seen = state is not None and state.online
            return self.clock.monotonic() - began if seen == online else None

        return await self.poll(check, timeout=timeout, first_interval=0.5)

    async def require_runners_online(self, *roles: RunnerRole) -> None:
        runners = {r.name: r for r in await self.repo.list_runners()}
        for role in roles:
            name = self.runner(role).name
            state = runners.get(name)
            if state is None or not state.online:
                status = "not registered" if state is None else state.status
                raise ScenarioError(f"Preflight: the {role.value} runner {name} is {status}, so nothing was tried.")

    # ------------------------------------------------------------------------------------------- services
    async def backend_health(self) -> Health:
        return await self.probe.health(self.env.backend.health_url, timeout=PROBE_TIMEOUT)

    async def require_backend_answers(self) -> Health:
        health = await self.backend_health()
        if not health.answered:
            raise ScenarioError(
                f"Preflight: the backend at {self.env.backend.health_url} did not answer ({health.error})."
            )
        return health

    async def backend_version(self) -> str | None:
        return await self.probe.version(self.env.backend.info_url, timeout=PROBE_TIMEOUT)

    async def deployed_versions(self) -> dict[str, str | None]:
        """The version each deployed component reports, by component: the backend (`info_url`) always, the
        frontend only when its `version_url` is set (None: it reported none)."""
        versions = {"backend": await self.backend_version()}
        if self.env.frontend.version_url is not None:
            versions["frontend"] = await self.probe.version(self.env.frontend.version_url, timeout=PROBE_TIMEOUT)
        return versions

    async def wait_backend(self, *, like: Health, timeout: float) -> Health:
        """Poll the backend until it answers with the same overall status as `like` (or `timeout` passes)."""

        async def check() -> Health | None:
            health = await self.backend_health()
            return health if health.answered and health.status == like.status else None

        found = await self.poll(check, timeout=timeout, first_interval=0.5, max_interval=3)
        return found or await self.backend_health()
