"""Scenario `normal-deploy` (T042 test 1): a dispatched deployment runs on the primary runner, succeeds within the
deployment threshold with a log free of errors that names that runner, and leaves a healthy backend and frontend
behind."""

from __future__ import annotations

from bot.settings import RunnerRole
from scenarios.context import PROBE_TIMEOUT, ScenarioContext
from scenarios.deploy_log import check_deploy_log
from scenarios.timing import fmt, queue_s, run_s


async def run(ctx: ScenarioContext) -> None:
    env, jobs, limits = ctx.env, ctx.env.workflow.jobs, ctx.env.thresholds
    async with ctx.step("preflight"):
        await ctx.require_runners_online(RunnerRole.PRIMARY)
        await ctx.require_backend_answers()
    async with ctx.step("dispatch"):
        dispatch = await ctx.dispatch()
    async with ctx.step("observe run"):
        track = await ctx.wait_completed(dispatch)
    deploy, health_job = track.job(jobs.deploy), track.job(jobs.health_check)
    ctx.deployed_on("primary-runner", deploy, RunnerRole.PRIMARY)
    failed = sorted({f"{j.name}: {s.name}" for j in track.jobs.values() for s in j.steps if s.conclusion == "failure"})
    conclusion = track.run.conclusion
    ctx.criterion(
        "run-succeeded",
        "The workflow run concluded success with no failed step.",
        conclusion == "success" and not failed,
        observed={"conclusion": conclusion, "failed_steps": failed},
        threshold="success",
        reason=f"The workflow run concluded {conclusion}"
        + (f" with failed steps: {', '.join(failed)}." if failed else "."),
    )
    await check_deploy_log(ctx, deploy)
    duration = ctx.measure("deployment_duration_s", run_s(deploy))
    ctx.measure("queue_s", queue_s(deploy))
    ctx.within(
        "deployment-duration",
        "The deploy job finished within the deployment threshold.",
        duration,
        limits.deployment,
        reason=f"The deploy job took {fmt(duration)}; the threshold is {limits.deployment:g} s.",
    )
    checked = ctx.measure("health_check_s", run_s(health_job))
    hc_conclusion = health_job.conclusion if health_job else None
    ctx.criterion(
        "health-check-job",
        "The pipeline's health checks passed within the health-check threshold.",
        hc_conclusion == "success" and checked is not None and checked <= limits.health_check,
        observed={"conclusion": hc_conclusion, "seconds": checked},
        threshold=limits.health_check,
        unit="s",
        reason=f"The pipeline's health-check job concluded {hc_conclusion or 'never'} after {fmt(checked)} "
        f"(threshold {limits.health_check:g} s).",
    )
    async with ctx.step("health checks"):
        health = await ctx.backend_health()
        front = await ctx.probe.get(env.frontend.url, timeout=PROBE_TIMEOUT)
    required = env.backend.required_components
    ctx.criterion(
        "backend-health",
        f"The backend reports UP with {', '.join(required)} UP.",
        health.up(required),
        observed=health.describe(),
        threshold="UP",
        reason=f"The backend health endpoint reports {health.describe()}, not UP with {', '.join(required)} UP.",
    )
    ctx.criterion(
        "frontend",
        "The frontend home page answers 200.",
        front.status == 200,
        observed=front.status,
        threshold=200,
        reason=f"The frontend home page answered {front.status or front.error}, not 200.",
    )
