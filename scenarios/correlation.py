"""Following dispatched workflow runs: which run is ours, what state its jobs are in, and when they moved.

Webhooks (`workflow_run`, `workflow_job`) feed `Correlator.observe_*`; scenarios wait on it. GitHub guarantees
neither delivery nor order, so a run's or job's state only ever moves forward (a stale or duplicate event never
regresses it), events for runs nobody is waiting for yet are kept (a webhook can beat the dispatch call's answer),
and a wait that hears nothing for `reconcile_after` seconds asks the REST API once, then goes back to listening.
Every timing comes from GitHub's own timestamps, never from when an event happened to arrive.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.github.models import WorkflowJob, WorkflowRun
from bot.model import JobRecord, RunRecord
from bot.ports import Clock, GitHubError, GitHubRepo

T = TypeVar("T")

#: GitHub's status order for runs and jobs; `pending` is what a concurrency group holds a run in.
_RANK = {"requested": 0, "pending": 1, "queued": 2, "waiting": 3, "in_progress": 4, "completed": 5}

#: How long events for runs nobody has claimed are kept (the dispatch answer may come after them).
BUFFER_SECONDS = 600.0

#: While nothing changes, each reconciliation waits twice as long as the last, up to this many `reconcile_after`s:
#: GitHub sends nothing while a job runs, so a long job must not turn waiting into fixed-interval polling.
RECONCILE_BACKOFF_CAP = 8

#: At most this many runs are kept for correlation; the oldest go first (the bot hears every run of the repo).
MAX_TRACKED_RUNS = 500

#: GitHub's timestamps are whole seconds and clocks drift: look for our run this far before the dispatch.
CREATED_SLACK = timedelta(seconds=60)


class WaitTimeout(Exception):
    """An expected state was not reached in time; the message says what was awaited."""


class Aborted(Exception):
    """A person asked the verification to stop."""


def new_test_id(prefix: str = "vs") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def rank(status: str | None) -> int:
    return _RANK.get(status or "", -1)


def job_matches(job_name: str, wanted: str) -> bool:
    """A job is found by its workflow name, or `name (...)` when a matrix adds a suffix."""
    return job_name == wanted or job_name.startswith(f"{wanted} (")


def _newer_job(old: WorkflowJob, new: WorkflowJob) -> WorkflowJob:
    if rank(new.status) > rank(old.status):
        winner, other = new, old
    elif rank(new.status) < rank(old.status):
        winner, other = old, new
    else:
        # Same state twice (a duplicate, or REST and a webhook): keep whichever knows more.
        winner, other = (new, old) if _known(new) >= _known(old) else (old, new)
    return _fill(winner, other)


def _known(job: WorkflowJob) -> int:
    return sum(x is not None for x in (job.runner_name, job.started_at, job.completed_at, job.conclusion))


def _fill(winner: WorkflowJob, other: WorkflowJob) -> WorkflowJob:
    return replace(
        winner,
        created_at=winner.created_at or other.created_at,
        runner_name=winner.runner_name or other.runner_name,
        labels=winner.labels or other.labels,
        steps=winner.steps or other.steps,
    )


def _newer_run(old: WorkflowRun, new: WorkflowRun) -> WorkflowRun:
    if rank(new.status) < rank(old.status):
        return old
    if rank(new.status) == rank(old.status) and old.conclusion and not new.conclusion:
        return old
    return new


@dataclass
class RunTrack:
    """Everything seen about one run: its latest state, the states it passed through, and its jobs."""

    run: WorkflowRun
    seen_at: float
    statuses: list[str] = field(default_factory=list)
    jobs: dict[int, WorkflowJob] = field(default_factory=dict)

    def job(self, name: str) -> WorkflowJob | None:
        found = [j for j in self.jobs.values() if job_matches(j.name, name)]
        return min(found, key=lambda j: j.id) if found else None

    def record(self) -> RunRecord:
        return RunRecord(
            run_id=self.run.id,
            head_sha=self.run.head_sha,
            display_title=self.run.display_title,
            status=self.run.status,
            conclusion=self.run.conclusion,
            created_at=self.run.created_at,
            run_started_at=self.run.run_started_at,
            updated_at=self.run.updated_at,
            html_url=self.run.html_url,
            jobs=[job_record(j) for j in sorted(self.jobs.values(), key=lambda j: j.id)],
        )


def job_record(job: WorkflowJob) -> JobRecord:
    return JobRecord(
        job_id=job.id,
        name=job.name,
        run_id=job.run_id,
        status=job.status,
        conclusion=job.conclusion,
        runner_name=job.runner_name,
        labels=list(job.labels),
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        failed_steps=[s.name for s in job.steps if s.conclusion == "failure"],
    )


@dataclass
class Dispatch:
    """One workflow dispatch we made: its test id, and the run id once known."""

    test_id: str
    workflow: str
    dispatched_at: datetime
    run_id: int | None = None


class Correlator:
    """The runs and jobs of one repository as webhooks and REST answers report them."""

    def __init__(self, *, repo: GitHubRepo, clock: Clock, reconcile_after: float) -> None:
        self._repo = repo
        self._clock = clock
        self._reconcile_after = reconcile_after
        self._runs: dict[int, RunTrack] = {}
        # Jobs whose workflow_run has not been seen yet (webhooks come in any order), with when they were first seen.
        self._orphan_jobs: dict[int, dict[int, WorkflowJob]] = {}
        self._orphan_seen: dict[int, float] = {}
        self._changed = asyncio.Event()
        self.reconciliations = 0

    # ------------------------------------------------------------------------------------------- feeding
    def observe_run(self, run: WorkflowRun) -> None:
        track = self._runs.get(run.id)
        if track is None:
            track = RunTrack(run=run, seen_at=self._clock.monotonic())
            track.jobs.update(self._orphan_jobs.pop(run.id, {}))
            self._orphan_seen.pop(run.id, None)
            self._runs[run.id] = track
        else:
            track.run = _newer_run(track.run, run)
        if run.status and run.status not in track.statuses:
            track.statuses.append(run.status)
        self._notify()

    def observe_job(self, job: WorkflowJob) -> None:
        track = self._runs.get(job.run_id)
        if track is None:
            self._orphan_seen.setdefault(job.run_id, self._clock.monotonic())
        jobs = track.jobs if track is not None else self._orphan_jobs.setdefault(job.run_id, {})
        old = jobs.get(job.id)
        jobs[job.id] = job if old is None else _newer_job(old, job)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
        self._prune()

    def _prune(self) -> None:
        horizon = self._clock.monotonic() - BUFFER_SECONDS
        for run_id in [r for r, t in self._runs.items() if t.seen_at < horizon and t.run.status == "completed"]:
            del self._runs[run_id]
        for run_id in [r for r, seen in self._orphan_seen.items() if seen < horizon]:
            self._orphan_seen.pop(run_id, None)
            self._orphan_jobs.pop(run_id, None)
        # Runs never seen to complete (their last webhook was lost) must not pile up in a long-lived bot either.
        for run_id in sorted(self._runs, key=lambda r: self._runs[r].seen_at)[
            : max(0, len(self._runs) - MAX_TRACKED_RUNS)
        ]:
            del self._runs[run_id]
        for run_id in sorted(self._orphan_seen, key=self._orphan_seen.__getitem__)[
            : max(0, len(self._orphan_seen) - MAX_TRACKED_RUNS)
        ]:
            self._orphan_seen.pop(run_id, None)
            self._orphan_jobs.pop(run_id, None)

    # ------------------------------------------------------------------------------------------- reading
    def track(self, run_id: int) -> RunTrack | None:
        return self._runs.get(run_id)

    def find(self, dispatch: Dispatch) -> RunTrack | None:
        if dispatch.run_id is not None:
            return self._runs.get(dispatch.run_id)
        for track in self._runs.values():
            if dispatch.test_id in (track.run.display_title or ""):
                dispatch.run_id = track.run.id
                return track
        return None

    # ------------------------------------------------------------------------------------------- REST
    async def reconcile(self, dispatch: Dispatch) -> None:
        """Ask the REST API for what webhooks may have missed (counted: it is reported)."""
        self.reconciliations += 1
        if dispatch.run_id is None:
            runs = await self._repo.list_runs(
                workflow=dispatch.workflow,
                event="workflow_dispatch",
                created_since=dispatch.dispatched_at - CREATED_SLACK,
            )
            for run in runs:
                if dispatch.test_id in (run.display_title or ""):
                    self.observe_run(run)
            if self.find(dispatch) is None:
                return
        assert dispatch.run_id is not None
        self.observe_run(await self._repo.get_run(dispatch.run_id))
        for job in await self._repo.list_jobs(dispatch.run_id):
            self.observe_job(job)

    # ------------------------------------------------------------------------------------------- waiting
    async def wait_for(
        self,
        dispatch: Dispatch,
        condition: Callable[[RunTrack], T | None],
        *,
        timeout: float,
        what: str,
        abort: asyncio.Event | None = None,
        tick: float | None = None,
    ) -> T:
        """Wait until `condition(track)` gives a value; reconcile once whenever events are `reconcile_after` late.

        `tick`: also ask `condition` at least this often when nothing changes (a condition on elapsed time, such as
        a job queued too long, becomes true while GitHub sends nothing). Raises WaitTimeout(what) after `timeout`
        seconds and Aborted when `abort` is set.
        """
        deadline = self._clock.monotonic() + timeout
        quiet_since = self._clock.monotonic()
        patience = self._reconcile_after
        while True:
            if abort is not None and abort.is_set():
                raise Aborted(what)
            track = self.find(dispatch)
            if track is not None and (value := condition(track)) is not None:
                return value
            now = self._clock.monotonic()
            if now >= deadline:
                raise WaitTimeout(what)
            if now - quiet_since >= patience:
                try:
                    await until_aborted(self.reconcile(dispatch), abort, what=what)
                except GitHubError:
                    pass  # GitHub is flaky: the next quiet period tries again, the deadline still holds
                quiet_since = self._clock.monotonic()
                patience = min(patience * 2, self._reconcile_after * RECONCILE_BACKOFF_CAP)
                continue
            wake = deadline if tick is None else min(deadline, now + tick)
            budget = min(wake, quiet_since + patience) - now
            if await self._wait_change(budget, abort):
                quiet_since = self._clock.monotonic()
                patience = self._reconcile_after

    async def _wait_change(self, seconds: float, abort: asyncio.Event | None) -> bool:
        """True when something changed within `seconds` (on the injected clock, so tests run on virtual time)."""
        waiters: list[Awaitable[object]] = [self._changed.wait(), self._clock.sleep(seconds)]
        if abort is not None:
            waiters.append(abort.wait())
        return await first_of(waiters) != 1


async def first_of(awaitables: list[Awaitable[object]]) -> int:
    """Run the awaitables until one finishes; cancel the rest; return the index of the first to finish."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return min(tasks.index(t) for t in done)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until_aborted(awaitable: Awaitable[T], abort: asyncio.Event | None, *, what: str) -> T:
    """`awaitable`'s value, or Aborted(what) the moment `abort` is set (the awaitable is then cancelled).

    Every wait of a scenario goes through this, so `/verify-staging abort` never waits for a poll interval, a
    slow probe or a timeout to run out (the undo journal restores what was stopped as soon as Aborted propagates).
    """
    task = asyncio.ensure_future(awaitable)
    if abort is None:
        return await task
    waiter = asyncio.ensure_future(abort.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, waiter):
            t.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)
    if abort.is_set():
        raise Aborted(what)
    return task.result()


async def poll(
    probe: Callable[[], Awaitable[T | None]],
    *,
    clock: Clock,
    timeout: float,
    abort: asyncio.Event | None,
    first_interval: float = 1.0,
    max_interval: float = 10.0,
    what: str = "poll",
) -> T | None:
    """Ask `probe` with backoff until it gives a value or `timeout` passes (None). For states no webhook reports.

    `abort` is required (None only where nobody can abort): both the probe and the pause between probes give way
    to it at once, raising Aborted.
    """
    deadline = clock.monotonic() + timeout
    interval = first_interval
    while True:
        if abort is not None and abort.is_set():
            raise Aborted(what)
        value = await until_aborted(probe(), abort, what=what)
        if value is not None:
            return value
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            return None
        await until_aborted(clock.sleep(min(interval, remaining)), abort, what=what)
        interval = min(interval * 1.5, max_interval)
