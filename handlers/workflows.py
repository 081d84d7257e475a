"""Workflow runs and jobs as they happen: feed the engine's correlation and the deployment/runner metrics.

Metrics count every run and job of every configured repository (not only the bot's own), because the dashboards
and alerts watch the deployment pipeline as a whole.
"""

from __future__ import annotations

from gidgethub import routing, sansio

from bot.github.models import PayloadError, WorkflowJob, WorkflowRun
from handlers.context import HandlerContext

router = routing.Router()


def _origin(ctx: HandlerContext) -> tuple[str, int | None]:
    """The repository and installation the delivery came from, as read at ingress."""
    envelope = ctx.delivery
    if envelope is None or envelope.repository is None:
        raise PayloadError("workflow delivery: no repository")
    return envelope.repository, envelope.installation_id


@router.register("workflow_run")
async def on_workflow_run(event: sansio.Event, ctx: HandlerContext) -> None:
    repository, installation_id = _origin(ctx)
    run = WorkflowRun.from_api(event.data.get("workflow_run"))
    if installation_id is not None:
        ctx.engine.observe_run(installation_id=installation_id, repository=repository, run=run)


@router.register("workflow_job")
async def on_workflow_job(event: sansio.Event, ctx: HandlerContext) -> None:
    repository, installation_id = _origin(ctx)
    job = WorkflowJob.from_api(event.data.get("workflow_job"))
    ctx.metrics.job(repository=repository, job=job)
    if installation_id is not None:
        ctx.engine.observe_job(installation_id=installation_id, repository=repository, job=job)
