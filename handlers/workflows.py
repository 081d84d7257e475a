"""Workflow runs and jobs as they happen: feed the engine's correlation and the deployment/runner metrics.

Metrics count every run and job of every configured repository (not only the bot's own), because the dashboards
and alerts watch the deployment pipeline as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gidgethub import routing, sansio

from bot.github_models import WorkflowJob, WorkflowRun, parses
from handlers.context import HandlerContext

router = routing.Router()


@parses("workflow delivery")
def _origin(data: Mapping[str, Any]) -> tuple[str, int | None]:
    installation = data.get("installation") or {}
    installation_id = installation.get("id")
    return str(data["repository"]["full_name"]), int(installation_id) if installation_id is not None else None


@router.register("workflow_run")
async def on_workflow_run(event: sansio.Event, ctx: HandlerContext) -> None:
    repository, installation_id = _origin(event.data)
    run = WorkflowRun.from_api(event.data.get("workflow_run"))
    if installation_id is not None:
        ctx.engine.observe_run(installation_id=installation_id, repository=repository, run=run)


@router.register("workflow_job")
async def on_workflow_job(event: sansio.Event, ctx: HandlerContext) -> None:
    repository, installation_id = _origin(event.data)
    job = WorkflowJob.from_api(event.data.get("workflow_job"))
    ctx.metrics.job(repository=repository, job=job)
    if installation_id is not None:
        ctx.engine.observe_job(installation_id=installation_id, repository=repository, job=job)
