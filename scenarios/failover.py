"""Scenario `failover` (T042 test 3): with the primary runner's service stopped and GitHub reporting it offline,
a dispatched deployment runs on the secondary runner within the failover threshold; the primary comes back."""

from __future__ import annotations

from bot.settings import RunnerRole
from scenarios.context import ScenarioContext
from scenarios.correlation import RunTrack, WaitTimeout
from scenarios.deploy_log import check_deploy_log
from scenarios.pickup import cancel_run
from scenarios.timing import between, fmt, queue_s, run_s, started


def failover_margin(threshold: float) -> float:
    """How long past the threshold we keep waiting for a runner before calling the job stranded.

    Generous on purpose: a slow failover is a latency failure (measured), only a job nobody takes is "no runner".
    """
    return max(10.0, threshold * 2)


async def run(ctx: ScenarioContext) -> None:
    primary = ctx.runner(RunnerRole.PRIMARY)
    limits = ctx.env.thresholds
    async with ctx.step("preflight"):
        await ctx.require_runners_online(RunnerRole.PRIMARY, RunnerRole.SECONDARY)
        await ctx.require_backend_answers()
    async with ctx.journal.stopped(host=primary.host, unit=primary.service):
        async with ctx.step("wait for primary offline"):
            offline = await ctx.wait_runner(primary.name, online=False, timeout=limits.runner_offline_detection)
        detected = ctx.criterion(
            "primary-offline",
            "GitHub reported the stopped primary runner offline.",
            offline is not None,
            observed=offline,
            threshold=limits.runner_offline_detection,
            unit="s",
            reason=f"GitHub still reported {primary.name} online {limits.runner_offline_detection:g} s after "
            "its service was stopped.",
        )
        if detected:
            await _deploy_without_primary(ctx)
    async with ctx.step("wait for primary online"):
        back = await ctx.wait_runner(primary.name, online=True, timeout=limits.runner_offline_detection)
    ctx.criterion(
        "primary-restored",
        "The primary runner was restarted and GitHub reports it online again.",
        back is not None,
        observed=back,
        threshold=limits.runner_offline_detection,
        unit="s",
        reason=f"{primary.name} was not reported online within {limits.runner_offline_detection:g} s of its restart.",
    )


async def _deploy_without_primary(ctx: ScenarioContext) -> None:
    jobs, limits = ctx.env.workflow.jobs, ctx.env.thresholds
    secondary = ctx.runner(RunnerRole.SECONDARY).name
    async with ctx.step("dispatch"):
        dispatch = await ctx.dispatch()
    async with ctx.step("observe deploy job"):
        created = await ctx.wait_run(dispatch, "the run to be created", lambda t: t.run.created_at is not None)
        waited = limits.failover + failover_margin(limits.failover)
        try:
            # The failover threshold, not the queue threshold, bounds this wait: a job queued while the primary is
            # gone is the very thing this scenario measures, and a stranded one fails `secondary-runner`.
            await ctx.wait_for(
                dispatch, lambda t: _deploy_started(t, jobs.deploy), timeout=waited, what="a runner", pickup=False
            )
        except WaitTimeout:
            ctx.keep_run(created)
            ctx.criterion(
                "secondary-runner",
                "The deploy job ran on the secondary runner.",
                False,
                observed=None,
                threshold=secondary,
                reason=f"No runner took the deploy job within {waited:g} s "
                f"(the failover threshold is {limits.failover:g} s).",
            )
            # Nothing would ever take the stranded job: cancel the run so staging is left clean.
            await cancel_run(ctx, dispatch)
            return
    async with ctx.step("observe run"):
        track = await ctx.wait_completed(dispatch)
    await _judge(ctx, track)


def _deploy_started(track: RunTrack, name: str) -> bool | None:
    job = track.job(name)
    return True if job is not None and job.runner_name and job.status in ("in_progress", "completed") else None


async def _judge(ctx: ScenarioContext, track: RunTrack) -> None:
    limits = ctx.env.thresholds
    deploy = track.job(ctx.env.workflow.jobs.deploy)
    ctx.deployed_on("secondary-runner", deploy, RunnerRole.SECONDARY)
    latency = ctx.measure("failover_latency_s", between(track.run.created_at, started(deploy)))
    ctx.measure("queue_s", queue_s(deploy))
    ctx.measure("deployment_duration_s", run_s(deploy))
    ctx.within(
        "failover-latency",
        "From run creation to the deploy job starting on the secondary took less than the failover threshold.",
        latency,
        limits.failover,
        reason=f"Failover took {fmt(latency)} from run creation to the deploy job starting; "
        f"the threshold is {limits.failover:g} s.",
    )
    conclusion, runner = (deploy.conclusion, deploy.runner_name) if deploy else (None, None)
    ctx.concluded(
        "deploy-succeeded",
        "The deployment succeeded on the secondary runner.",
        conclusion,
        "success",
        reason=f"The deploy job on {runner or 'no runner'} concluded {conclusion or 'never'}, not success.",
    )
    await check_deploy_log(ctx, deploy)
