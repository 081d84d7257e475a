"""The deploy job's log, checked as a person would read it on GitHub (T042 test 1: "No errors in deployment
logs", "Runner: production-runner-01 in logs"): no `##[error]` line, and the runner it names is the one GitHub
reported taking the job."""

from __future__ import annotations

from bot.github.job_log import JobLog
from bot.github.models import WorkflowJob
from bot.model import StepOutcome
from bot.ports import GitHubError
from bot.texts import reports as texts
from scenarios.context import ScenarioContext

CLEAN, RUNNER = "deploy-log-clean", "deploy-log-runner"
#: The quoted error line is cut here: a reason is one sentence, not the log.
QUOTE_LIMIT = 200
#: Seconds a 404 is asked again: GitHub may take a moment after a job completes before it serves the log.
LOG_WAIT_S = 15.0


def quote(line: str) -> str:
    return line if len(line) <= QUOTE_LIMIT else line[: QUOTE_LIMIT - 1] + "…"


async def check_deploy_log(ctx: ScenarioContext, deploy: WorkflowJob | None) -> None:
    """Record `deploy-log-clean` and `deploy-log-runner`; a log GitHub does not serve leaves both unevaluated
    (never a pass), with the reason."""
    if deploy is None:
        _unevaluated(ctx, texts.DEPLOY_LOG_NO_JOB)
        return
    async with ctx.step(texts.DEPLOY_LOG_STEP) as step:
        try:
            log = JobLog.parse(await _read(ctx, deploy.id))
        except GitHubError as exc:
            step.outcome, step.error = StepOutcome.FAILED, str(exc)
            _unevaluated(ctx, texts.DEPLOY_LOG_UNREADABLE.format(error=exc))
            return
    ctx.criterion(
        CLEAN,
        texts.DEPLOY_LOG_CLEAN_DESCRIPTION,
        not log.errors,
        observed=len(log.errors),
        threshold=0,
        reason=texts.DEPLOY_LOG_ERRORS.format(count=len(log.errors), first=quote(log.errors[0]) if log.errors else ""),
    )
    reported = deploy.runner_name
    ctx.criterion(
        RUNNER,
        texts.DEPLOY_LOG_RUNNER_DESCRIPTION,
        log.runner_name is not None and log.runner_name == reported,
        observed=log.runner_name,
        threshold=reported,
        reason=texts.DEPLOY_LOG_RUNNER_WRONG.format(
            logged=log.runner_name or texts.DEPLOY_LOG_NO_RUNNER_LINE,
            reported=reported or texts.DEPLOY_LOG_NO_REPORTED_RUNNER,
        ),
    )


async def _read(ctx: ScenarioContext, job_id: int) -> str:
    missing: list[GitHubError] = []

    async def attempt() -> str | None:
        try:
            return await ctx.repo.job_log(job_id)
        except GitHubError as exc:
            if exc.status != 404:
                raise
            missing[:] = [exc]
            return None

    text = await ctx.poll(attempt, timeout=LOG_WAIT_S, first_interval=1.0, max_interval=5.0)
    if text is None:
        raise missing[-1]
    return text


def _unevaluated(ctx: ScenarioContext, reason: str) -> None:
    ctx.criterion(CLEAN, texts.DEPLOY_LOG_CLEAN_DESCRIPTION, None, threshold=0, reason=reason)
    ctx.criterion(RUNNER, texts.DEPLOY_LOG_RUNNER_DESCRIPTION, None, reason=reason)
