"""Runner sessions and job routing, as GitHub does it for self-hosted runners.

A job goes to an online, idle runner whose labels include every `runs-on` label; if that runner does not acquire it
within the acquire timeout it is re-queued (GitHub: 60 s); with no matching runner online it stays queued and fails
after the queue timeout (GitHub: 24 h). A runner that ends its session is offline at once; one that goes silent is
offline after the heartbeat timeout (undocumented on GitHub, a lab setting). The hosted pool is one session that
takes any number of `ubuntu-latest` jobs and is not listed by the runners API.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.github.config import SimConfig
from lab.github.state import JobState, RunnerState
from lab.truth import Truth

HOSTED_NAME = "hosted-pool"
HOSTED_GROUP = (2, "GitHub Actions")
SELF_HOSTED_GROUP = (1, "Default")


@dataclass
class Session:
    id: str
    runner: RunnerState
    offers: list[int] = field(default_factory=list)  # offered, not yet handed out by a poll
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class RoutingHooks:
    """How the pool tells the workflow engine what happened to a job."""

    started: Callable[[JobState, RunnerState, str], None]  # job, runner, runner name shown on the job
    lost: Callable[[JobState, str], None]  # the job fails with this message
    offer: Callable[[JobState], dict[str, Any]]  # what the runner agent receives


class RunnerPool:
    """All runners of the repository plus the hosted pool; the only place that decides who runs a job."""

    def __init__(self, config: SimConfig, truth: Truth, hooks: RoutingHooks) -> None:
        self.config = config
        self.timing = config.timing
        self.truth = truth
        self.hooks = hooks
        self.runners: dict[str, RunnerState] = {
            spec.name: RunnerState(id=i + 1, name=spec.name, labels=list(spec.labels), token=spec.token)
            for i, spec in enumerate(config.runners)
        }
        self.hosted = RunnerState(
            id=0, name=HOSTED_NAME, labels=list(config.hosted_labels), token=config.hosted_token, hosted=True
        )
        self.sessions: dict[str, Session] = {}
        self.queue: list[JobState] = []
        self.jobs: dict[int, JobState] = {}
        self._hosted_seq = 0

    # ------------------------------------------------------------------------------------------ sessions
    def open_session(self, *, name: str, token: str) -> str | None:
        runner = self.hosted if name == HOSTED_NAME else self.runners.get(name)
        if runner is None or not secrets.compare_digest(runner.token, token):
            return None
        if runner.session_id is not None:
            # A restarted agent replaces its old session; what the old process was running is lost.
            self._offline(runner, reason="replaced")
        sid = secrets.token_hex(12)
        self.sessions[sid] = Session(id=sid, runner=runner)
        runner.session_id = sid
        runner.online = True
        runner.last_seen = time.monotonic()
        if not runner.hosted:
            self.truth.record("runner_online", runner=runner.name, runner_id=runner.id)
        self.assign()
        return sid

    def close_session(self, sid: str) -> bool:
        session = self.sessions.get(sid)
        if session is None:
            return False
        self._offline(session.runner, reason="session ended")
        return True

    def seen(self, sid: str) -> Session | None:
        session = self.sessions.get(sid)
        if session is not None:
            session.runner.last_seen = time.monotonic()
        return session

    async def poll(self, sid: str, wait: float) -> dict[str, Any] | None:
        """Long poll: the next job offered to this session, or None after `wait` seconds."""
        session = self.seen(sid)
        if session is None:
            raise KeyError(sid)
        deadline = time.monotonic() + max(0.0, min(wait, self.timing.long_poll))
        try:
            while not session.offers and self.sessions.get(sid) is session:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                session.wake.clear()
                try:
                    await asyncio.wait_for(session.wake.wait(), remaining)
                except TimeoutError:
                    return None
            if self.sessions.get(sid) is not session:
                return None
            job_id = session.offers.pop(0)
            job = self.jobs.get(job_id)
            return None if job is None or job.status != "queued" else self.hooks.offer(job)
        finally:
            session.runner.last_seen = time.monotonic()

    def acquire(self, sid: str, job_id: int) -> bool:
        session = self.seen(sid)
        job = self.jobs.get(job_id)
        if session is None or job is None or job.offered_to != sid or job.status != "queued":
            return False
        runner = session.runner
        runner.offered.discard(job_id)
        runner.jobs.add(job_id)
        job.offered_to = None
        if job in self.queue:
            self.queue.remove(job)
        shown = runner.name
        if runner.hosted:
            self._hosted_seq += 1
            shown = f"GitHub Actions {self._hosted_seq}"
            job.runner_id = 1000 + self._hosted_seq
            job.runner_group_id, job.runner_group_name = HOSTED_GROUP
        else:
            job.runner_id = runner.id
            job.runner_group_id, job.runner_group_name = SELF_HOSTED_GROUP
        self.hooks.started(job, runner, shown)
        return True

    def finished(self, job_id: int) -> None:
        """The job is over (reported, cancelled or lost): the runner is free again."""
        for runner in [self.hosted, *self.runners.values()]:
            runner.jobs.discard(job_id)
            runner.offered.discard(job_id)
        job = self.jobs.pop(job_id, None)
        if job is not None and job in self.queue:
            self.queue.remove(job)
        self.assign()

    # ------------------------------------------------------------------------------------------ routing
    def enqueue(self, job: JobState) -> None:
        job.queued_since = time.monotonic()
        self.jobs[job.id] = job
        self.queue.append(job)
        self.truth.record("job_queued", run_id=job.run_id, job_id=job.id, job=job.name, labels=job.labels)
        self.assign()

    def assign(self) -> None:
        for job in list(self.queue):
            if job.offered_to is not None or job.held or job.status != "queued":
                continue
            runner = self._pick(job)
            if runner is None or runner.session_id is None:
                continue
            job.offered_to = runner.session_id
            job.offered_at = time.monotonic()
            runner.offered.add(job.id)
            session = self.sessions[runner.session_id]
            session.offers.append(job.id)
            session.wake.set()

    def _matches(self, runner: RunnerState, job: JobState) -> bool:
        have = {label.lower() for label in runner.labels}
        return all(label.lower() in have for label in job.labels)

    def _pick(self, job: JobState) -> RunnerState | None:
        if self.hosted.online and self._matches(self.hosted, job):
            return self.hosted
        idle = [
            r
            for r in self.runners.values()
            if r.online and not r.busy and not r.offered and job.labels and self._matches(r, job)
        ]
        fresh = [r for r in idle if r.name not in job.declined_by]
        choice = fresh or idle
        return min(choice, key=lambda r: r.id) if choice else None

    def tick(self) -> None:
        """Applies the acquire, queue and heartbeat timeouts."""
        now = time.monotonic()
        for job in list(self.queue):
            if job.offered_to is not None and now - job.offered_at > self.timing.acquire_timeout:
                session = self.sessions.get(job.offered_to)
                if session is not None:
                    session.runner.offered.discard(job.id)
                    if job.id in session.offers:
                        session.offers.remove(job.id)
                    job.declined_by.add(session.runner.name)
                    runner_name = session.runner.name
                else:
                    runner_name = None
                job.offered_to = None
                self.truth.record("job_requeued", run_id=job.run_id, job_id=job.id, runner=runner_name)
            elif job.offered_to is None and not job.held and now - job.queued_since > self.timing.queue_timeout:
                self.queue.remove(job)
                self.hooks.lost(job, "The job was not started because no runner picked it up in time.")
        for runner in [self.hosted, *self.runners.values()]:
            if runner.online and now - runner.last_seen > self.timing.heartbeat_timeout:
                self._offline(runner, reason="heartbeat timeout")
        self.assign()

    def _offline(self, runner: RunnerState, *, reason: str) -> None:
        if runner.session_id is not None:
            session = self.sessions.pop(runner.session_id, None)
            if session is not None:
                session.wake.set()
        runner.session_id = None
        was_online = runner.online
        runner.online = False
        for job_id in list(runner.offered):
            job = self.jobs.get(job_id)
            if job is not None:
                job.offered_to = None
        runner.offered.clear()
        lost = [self.jobs[j] for j in runner.jobs if j in self.jobs]
        runner.jobs.clear()
        if was_online and not runner.hosted:
            self.truth.record("runner_offline", runner=runner.name, runner_id=runner.id, reason=reason)
        for job in lost:
            self.hooks.lost(
                job,
                f"The self-hosted runner: {runner.name} lost communication with the server.",
            )
        self.assign()

    def listed(self) -> list[RunnerState]:
        """What the runners API lists: the self-hosted runners (never the hosted pool)."""
        return sorted(self.runners.values(), key=lambda r: r.id)
