"""Scenario `concurrency` (T042 test 2): two deployments dispatched back to back never run their deploy jobs at
the same time; the second waits (pending) and starts after the first completed, and neither is cancelled."""

from __future__ import annotations

from datetime import datetime

from bot.ports import GitHubError
from bot.settings import RunnerRole
from scenarios.context import ScenarioContext
from scenarios.correlation import Dispatch, RunTrack
from scenarios.timing import between, completed, fmt, started
from scenarios.timing import overlap as overlap_s

#: Run states in which a run is held back rather than running.
HELD = ("requested", "pending", "queued", "waiting")


async def run(ctx: ScenarioContext) -> None:
    jobs = ctx.env.workflow.jobs
    async with ctx.step("preflight"):
        await ctx.require_runners_online(RunnerRole.PRIMARY)
        await ctx.require_backend_answers()
    async with ctx.step("dispatch twice"):
        first = await ctx.dispatch()
        second = await ctx.dispatch()
    async with ctx.step("observe first deploy start"):
        # A run that ends without deploying (cancelled, e.g. by `cancel-in-progress`) is judged, not waited out.
        await ctx.wait_run(
            first,
            "the first run's deploy job to start",
            lambda t: _deploy_started(t, jobs.deploy) or t.run.status == "completed",
        )
        # No webhook reports `pending` reliably, so the second run's state is read while the first deploys.
        held_status = await _status_now(ctx, second)
    async with ctx.step("observe both runs"):
        one = await ctx.wait_completed(first)
        two = await ctx.wait_completed(second)
    judge(ctx, one, two, held_status)


def _deploy_started(track: RunTrack, name: str) -> bool:
    job = track.job(name)
    return job is not None and job.started_at is not None and job.status in ("in_progress", "completed")


async def _status_now(ctx: ScenarioContext, dispatch: Dispatch) -> str | None:
    track = ctx.correlator.find(dispatch)
    try:
        if dispatch.run_id is None:
            await ctx.correlator.reconcile(dispatch)
            track = ctx.correlator.find(dispatch)
        if dispatch.run_id is not None:
            return (await ctx.repo.get_run(dispatch.run_id)).status
    except GitHubError:
        pass
    return track.run.status if track else None


def _completed(track: RunTrack) -> datetime | None:
    ends = [j.completed_at for j in track.jobs.values() if j.completed_at is not None]
    return max(ends) if ends else track.run.updated_at


def _created(track: RunTrack) -> datetime | None:
    created = [j.created_at for j in track.jobs.values() if j.created_at is not None]
    return min(created) if created else None


def _started(track: RunTrack) -> datetime | None:
    starts = [j.started_at for j in track.jobs.values() if j.started_at is not None and j.status != "queued"]
    return min(starts) if starts else None


def _held_observed(status: str | None, created_after: float | None) -> str | None:
    """The state the second run was seen in, or, when that proves nothing, when its jobs were created."""
    if status in HELD or created_after is None or (created_after < 0 and status is not None):
        return status
    return f"jobs created {fmt(abs(created_after))} {'after' if created_after >= 0 else 'before'} the first run ended"


def judge(ctx: ScenarioContext, one: RunTrack, two: RunTrack, held_status: str | None) -> None:
    name = ctx.env.workflow.jobs.deploy
    d1, d2 = one.job(name), two.job(name)
    first_done = d1 is not None and d1.conclusion == "success"
    ctx.criterion(
        "first-completed",
        "The first deployment ran to completion.",
        first_done,
        observed=d1.conclusion if d1 else None,
        threshold="success",
        reason=f"The first run's deploy job concluded {d1.conclusion}, not success."
        if d1
        else f"The first run ended {one.run.conclusion or 'unfinished'} without a deploy job.",
    )
    end_one, start_two = _completed(one), _started(two)
    # The snapshot of the second run's state can come late when the first deploy's webhook was lost (the bot only
    # learns of the start at reconciliation). GitHub creates a held run's jobs only when the group releases it, so
    # jobs created after the first run ended show the same fact from timestamps.
    created_after = between(end_one, _created(two))
    held = held_status in HELD or (created_after is not None and created_after >= 0)
    ctx.criterion(
        "second-held",
        "While the first deployment ran, the second run was held (pending or queued).",
        held,
        observed=_held_observed(held_status, created_after),
        threshold="pending or queued",
        reason=f"While the first deployment ran, the second run was {held_status or 'unknown'}, not held back.",
    )
    # Two overlaps, each named for what it measures. Without a concurrency group one runner still serializes the
    # deploy jobs, while the runs themselves overlap: the order criterion is judged on the runs, `no-overlap` on
    # the deploy jobs, and each reason quotes the number its criterion observed.
    runs = ctx.measure("runs_overlap_s", overlap_s(_started(one), end_one, start_two, _completed(two)))
    _no_overlap(
        ctx,
        "second-started-after",
        "The second run started only after the first completed.",
        runs,
        overlapped="The runs overlapped for {}: the second started before the first completed.",
        unknown="The second run never started a job."
        if start_two is None
        else "When the first run started or completed is unknown.",
    )
    # Without a concurrency group the second run may well deploy first: the overlap is the intersection of the
    # two deploy jobs' intervals, whichever order they ran in.
    jobs = ctx.measure(
        "deploy_jobs_overlap_s",
        overlap_s(started(d1), completed(d1), started(d2), completed(d2)) if d1 and d2 else None,
    )
    _no_overlap(
        ctx,
        "no-overlap",
        "The two deploy jobs did not run at the same time.",
        jobs,
        overlapped="The two deploy jobs ran at the same time for {}.",
        unknown="Whether the two deploy jobs overlapped is unknown: "
        f"{'the first' if d1 is None or d1.started_at is None else 'the second'} run has no deploy job "
        "with timestamps.",
    )
    conclusions = [one.run.conclusion, two.run.conclusion]
    ctx.criterion(
        "none-cancelled",
        "Neither run was cancelled.",
        "cancelled" not in conclusions,
        observed=conclusions,
        threshold="not cancelled",
        reason=f"A run was cancelled (conclusions: {', '.join(str(c) for c in conclusions)}).",
    )


def _no_overlap(
    ctx: ScenarioContext, criterion: str, description: str, seconds: float | None, *, overlapped: str, unknown: str
) -> None:
    """A criterion that passes on zero seconds of overlap; its reason quotes the overlap it observed."""
    ctx.criterion(
        criterion,
        description,
        None if seconds is None else seconds == 0,
        observed=seconds,
        threshold=0,
        unit="s",
        reason=unknown if seconds is None else overlapped.format(fmt(seconds)),
    )
