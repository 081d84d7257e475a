"""REST endpoints of the simulated GitHub for the App and for Actions: installation tokens, workflow dispatch,
workflow runs and jobs, cancel, and the self-hosted runners list (GitHub's paths, status codes and shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from lab.github.auth import AuthError
from lab.github.http import error, page_of, principal, read_json
from lab.github.manifests import MANIFEST_APPS, app_shape
from lab.github.sim import SIM, Sim
from lab.github.state import RunState
from lab.github.workflow_data import DispatchError

routes = web.RouteTableDef()
REPO = "/repos/{owner}/{repo}"


def _sim(request: web.Request) -> Sim:
    sim = request.app[SIM]
    if "owner" in request.match_info:
        full = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if full.lower() != sim.config.repository.lower():
            raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
    return sim


@routes.get("/app")
async def get_app(request: web.Request) -> web.Response:
    sim = _sim(request)
    registered = request.app[MANIFEST_APPS].apps.get(principal(request).app_id or 0)
    return web.json_response(app_shape(sim, registered) if registered else sim.shapes.app())


@routes.get(REPO + "/installation")
async def repo_installation(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).shapes.installation())


@routes.post("/app/installations/{installation_id}/access_tokens")
async def access_token(request: web.Request) -> web.Response:
    sim = _sim(request)
    if request.match_info["installation_id"] != str(sim.config.installation_id):
        return error(404, "Not Found")
    body = await read_json(request)
    try:
        issued = sim.authority.issue_installation_token(body.get("permissions"))
    except AuthError as failure:
        return error(failure.status, str(failure))
    return web.json_response(
        {
            "token": issued.token,
            "expires_at": sim.authority.expires_at(issued),
            "permissions": issued.permissions,
            "repository_selection": "selected",
        },
        status=201,
    )


@routes.post(REPO + "/actions/workflows/{workflow}/dispatches")
async def dispatch(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = await read_json(request)
    if not body.get("ref"):
        return error(422, 'Invalid request.\n\n"ref" wasn\'t supplied.')
    inputs = body.get("inputs") or {}
    if len(inputs) > 25:
        return error(422, "inputs are limited to 25 properties")
    try:
        run = sim.actions.dispatch(
            workflow=request.match_info["workflow"], ref=str(body["ref"]), inputs=inputs, actor=_actor(request)
        )
    except DispatchError as failure:
        return error(failure.status, str(failure))
    version = request.headers.get("X-GitHub-Api-Version", sim.config.default_api_version)
    # API 2022-11-28: 204 unless return_run_details; API 2026-03-10 always answers 200 with the run's details.
    if body.get("return_run_details") is True or version >= "2026-03-10":
        return web.json_response(
            {
                "workflow_run_id": run.id,
                "run_url": sim.shapes.workflow_run(run)["url"],
                "html_url": sim.shapes.workflow_run(run)["html_url"],
            }
        )
    return web.Response(status=204)


def _actor(request: web.Request) -> str:
    who = principal(request)
    return who.login


def _filter_runs(request: web.Request, runs: list[RunState]) -> list[RunState]:
    query = request.query
    if "event" in query:
        runs = [r for r in runs if r.event == query["event"]]
    if "status" in query:
        wanted = query["status"]
        runs = [r for r in runs if wanted in (r.status, r.conclusion)]
    if "branch" in query:
        runs = [r for r in runs if r.head_branch == query["branch"]]
    if "head_sha" in query:
        runs = [r for r in runs if r.head_sha == query["head_sha"]]
    if "created" in query:
        runs = [r for r in runs if _created_matches(query["created"], r.created_at.replace(microsecond=0))]
    return sorted(runs, key=lambda r: r.id, reverse=True)


def _created_matches(expr: str, created: datetime) -> bool:
    """GitHub's date search syntax for `created`: `>=X`, `>X`, `<=X`, `<X`, `X..Y`, or a day."""

    def parse(raw: str) -> datetime:
        raw = raw.strip().replace("Z", "+00:00")
        moment = datetime.fromisoformat(raw if "T" in raw else raw + "T00:00:00+00:00")
        return moment if moment.tzinfo else moment.replace(tzinfo=created.tzinfo)

    for op in (">=", "<=", ">", "<"):
        if expr.startswith(op):
            bound = parse(expr[len(op) :])
            return {">=": created >= bound, "<=": created <= bound, ">": created > bound, "<": created < bound}[op]
    if ".." in expr:
        low, high = expr.split("..", 1)
        return (low in ("*", "") or created >= parse(low)) and (high in ("*", "") or created <= parse(high))
    return created.date().isoformat() == expr[:10]


def _runs_answer(request: web.Request, runs: list[RunState]) -> web.Response:
    sim = _sim(request)
    chunk, headers = page_of(request, _filter_runs(request, runs))
    body = {
        "total_count": len(_filter_runs(request, runs)),
        "workflow_runs": [sim.shapes.workflow_run(r) for r in chunk],
    }
    return web.json_response(body, headers=headers)


@routes.get(REPO + "/actions/runs")
async def list_runs(request: web.Request) -> web.Response:
    return _runs_answer(request, list(_sim(request).actions.runs.values()))


@routes.get(REPO + "/actions/workflows/{workflow}/runs")
async def list_workflow_runs(request: web.Request) -> web.Response:
    sim = _sim(request)
    path = sim.actions.find_workflow(request.match_info["workflow"])
    if path is None:
        return error(404, "Not Found")
    return _runs_answer(request, [r for r in sim.actions.runs.values() if r.path == path])


def _run(request: web.Request) -> RunState:
    sim = _sim(request)
    try:
        return sim.actions.runs[int(request.match_info["run_id"])]
    except (KeyError, ValueError):
        raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json") from None


@routes.get(REPO + "/actions/runs/{run_id}")
async def get_run(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).shapes.workflow_run(_run(request)))


@routes.get(REPO + "/actions/runs/{run_id}/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    sim = _sim(request)
    run = _run(request)
    jobs = sorted(run.jobs.values(), key=lambda j: j.id)
    chunk, headers = page_of(request, jobs)
    body: dict[str, Any] = {"total_count": len(jobs), "jobs": [sim.shapes.workflow_job(j, run) for j in chunk]}
    return web.json_response(body, headers=headers)


@routes.get(REPO + "/actions/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    sim = _sim(request)
    job = sim.actions.jobs.get(int(request.match_info["job_id"]))
    if job is None:
        return error(404, "Not Found")
    return web.json_response(sim.shapes.workflow_job(job, sim.actions.runs[job.run_id]))


@routes.post(REPO + "/actions/runs/{run_id}/cancel")
async def cancel_run(request: web.Request) -> web.Response:
    sim = _sim(request)
    run = _run(request)
    if run.status == "completed":
        return error(409, "Cannot cancel a workflow run that is completed.")
    sim.actions.cancel_run(run, "The run was canceled by @" + _actor(request) + ".")
    return web.json_response({}, status=202)


@routes.get(REPO + "/actions/runners")
async def list_runners(request: web.Request) -> web.Response:
    sim = _sim(request)
    runners = sim.actions.pool.listed()
    if "name" in request.query:
        runners = [r for r in runners if r.name == request.query["name"]]
    chunk, headers = page_of(request, runners)
    body = {"total_count": len(runners), "runners": [sim.shapes.runner(r) for r in chunk]}
    return web.json_response(body, headers=headers)
