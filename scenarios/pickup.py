"""A job nobody picks up is diagnosed, not waited out: which job of a verification run has sat `queued` past the
queue threshold, and whether any online runner could take it, named so a person can mend the labels.

GitHub hands a self-hosted job to a runner that has every label of its `runs-on` (labels match case-insensitively):
https://docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/using-labels-with-self-hosted-runners
A job that no online runner matches stays queued (for up to 24 hours) and GitHub says nothing; that is the case we
name. A job an online runner matches but that is still queued waits for a busy runner: not a diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.github.models import Runner, WorkflowJob
from bot.ports import GitHubError, GitHubRepo
from bot.texts import reports as texts
from scenarios.correlation import Correlator, Dispatch, RunTrack

if TYPE_CHECKING:  # the context waits through this module; this module acts through the context
    from scenarios.context import ScenarioContext

#: The label every self-hosted runner carries; a job asking for it is meant for a self-hosted runner.
SELF_HOSTED = "self-hosted"


class JobNotPickedUp(Exception):
    """A job of a verification run stayed queued past the queue threshold and no online runner has its labels: the
    scenario fails (criterion `job-picked-up`). The message is the reason a person reads."""


class Overdue(Exception):
    """Raised out of a wait's condition: `job` has been queued past the threshold; look at the runners."""

    def __init__(self, job: WorkflowJob) -> None:
        super().__init__(job.name)
        self.job = job


@dataclass
class QueueWatch:
    """The queue check of one wait: jobs already looked at are not asked about again until `limit` more seconds
    have passed (a busy runner may be about to free up), or ever (a job for GitHub-hosted runners)."""

    limit: float
    _next_look: dict[int, float] = field(default_factory=dict)

    @property
    def tick(self) -> float:
        """How often a quiet wait looks at the clock: a diagnosis comes at most this late."""
        return max(0.5, self.limit / 12)

    def overdue(self, track: RunTrack, *, now: datetime) -> WorkflowJob | None:
        """The first job of the run still queued `limit` seconds after GitHub created it, not yet looked at."""
        for job in sorted(track.jobs.values(), key=lambda j: j.id):
            waited = queued_for(job, now=now)
            if waited is not None and waited >= max(self.limit, self._next_look.get(job.id, 0.0)):
                return job
        return None

    def look_again_later(self, job: WorkflowJob, *, now: datetime) -> None:
        waited = queued_for(job, now=now) or 0.0
        self._next_look[job.id] = waited + self.limit


async def look(
    job: WorkflowJob, *, dispatch: Dispatch, correlator: Correlator, repo: GitHubRepo, watch: QueueWatch, now: datetime
) -> tuple[WorkflowJob, float, list[Runner], str] | None:
    """Whether the overdue `job` is stranded: (the job as GitHub now reports it, seconds queued, the runners, the
    reason), or None when it is not (picked up after all, a runner that can take it is online, GitHub unreachable).

    The REST API is asked first: a lost `in_progress` webhook must not read as a stranded job.
    """
    try:
        await correlator.reconcile(dispatch)
        runners = await repo.list_runners()
    except GitHubError:
        watch.look_again_later(job, now=now)
        return None
    track = correlator.find(dispatch)
    fresh = track.jobs.get(job.id, job) if track is not None else job
    waited = queued_for(fresh, now=now)
    if waited is None:
        return None
    reason = diagnosis(fresh, waited=waited, runners=runners)
    if reason is None:
        watch.look_again_later(fresh, now=now)
        return None
    return fresh, waited, runners, reason


def queued_for(job: WorkflowJob, *, now: datetime) -> float | None:
    """Seconds since GitHub created the job, while it is still queued with no runner; None otherwise."""
    if job.status != "queued" or job.runner_name or job.created_at is None:
        return None
    return (now - job.created_at).total_seconds()


def takers(labels: Sequence[str], runners: Iterable[Runner]) -> list[Runner]:
    """The online runners that have every label the job asks for, busy or not."""
    wanted = {label.casefold() for label in labels}
    return [r for r in runners if r.online and wanted <= {label.casefold() for label in r.labels}]


def for_self_hosted(labels: Sequence[str], runners: Iterable[Runner]) -> bool:
    """Whether a job's labels address self-hosted runners (the repository's runner list knows nothing of
    GitHub-hosted ones, so a job for `ubuntu-latest` is never ours to diagnose)."""
    wanted = {label.casefold() for label in labels}
    known = {label.casefold() for r in runners for label in r.labels}
    return bool(wanted) and (SELF_HOSTED in wanted or bool(wanted & known))


def diagnosis(job: WorkflowJob, *, waited: float, runners: Sequence[Runner]) -> str | None:
    """The reason a person reads when no online runner can take the job; None when one can (or it is not ours)."""
    if not for_self_hosted(job.labels, runners) or takers(job.labels, runners):
        return None
    line = texts.JOB_NOT_PICKED_UP_RUNNER
    online = [line.format(name=r.name, labels=", ".join(r.labels)) for r in runners if r.online]
    return texts.JOB_NOT_PICKED_UP.format(
        job=job.name,
        waited=f"{waited:.0f}",
        labels=", ".join(job.labels),
        online=", ".join(online) or texts.JOB_NOT_PICKED_UP_NONE_ONLINE,
    )


async def stranded(ctx: ScenarioContext, dispatch: Dispatch, job: WorkflowJob, watch: QueueWatch) -> None:
    """Fail the scenario on `job-picked-up` when no online runner can take the overdue job, after cancelling every
    run the scenario started (the undo journal then restores what it stopped); else return and wait on."""
    now = ctx.clock.now()
    found = await look(job, dispatch=dispatch, correlator=ctx.correlator, repo=ctx.repo, watch=watch, now=now)
    if found is None:
        return
    fresh, waited, runners, reason = found
    online = {r.name: list(r.labels) for r in runners if r.online}
    ctx.criterion(
        "job-picked-up",
        texts.JOB_PICKED_UP_DESCRIPTION,
        False,
        observed={"job": fresh.name, "queued_s": round(waited, 3), "labels": list(fresh.labels), "online": online},
        threshold=watch.limit,
        unit="s",
        reason=reason,
    )
    for started in ctx.dispatches:
        await cancel_run(ctx, started)
    raise JobNotPickedUp(reason)


async def cancel_run(ctx: ScenarioContext, dispatch: Dispatch) -> None:
    """Cancel a run nothing would ever finish (a job nobody takes) so staging is left clean, wait until GitHub
    reports it completed, and keep it for the report."""
    track = ctx.correlator.find(dispatch)
    if track is not None and track.run.status == "completed":
        return
    async with ctx.step("cancel stranded run"):
        if dispatch.run_id is None:
            return
        try:
            await ctx.repo.cancel_run(dispatch.run_id)
        except GitHubError as exc:
            raise RuntimeError(f"could not cancel run {dispatch.run_id}: {exc}") from exc
        ctx.keep_run(await ctx.wait_completed(dispatch, pickup=False))
