"""The runner agents' private protocol (`/_lab/runner/...`) and the lab's control endpoints (`/_lab/...`).

Runner protocol (JSON; `Authorization: Bearer <registration token>`):
`POST /_lab/runner/sessions {name}` -> 201 `{session_id, runner_id, long_poll, heartbeat_interval}` (runner online);
`GET /_lab/runner/sessions/{sid}/jobs?wait=S` -> 204 or 200 `{job}`; `POST .../jobs/{job_id}/acquire` -> 200 or 409;
`POST .../jobs/{job_id}/steps/{n} {status, conclusion}`, `POST .../jobs/{job_id}/logs {lines}` and
`POST .../jobs/{job_id}/complete {conclusion, outputs}` -> 200 `{cancelled}`; `POST .../heartbeat`;
`DELETE /_lab/runner/sessions/{sid}` (graceful stop: offline now).
A `404` on any session call means the session is gone (the agent opens a new one).

Control: `POST /_lab/check-runs/{id}/requested-action {identifier, user}` plays a user clicking a check-run action
button; `POST /_lab/pulls/{number}/push {user}` plays that user pushing a new commit to the pull request's head
branch (`push` and `pull_request` `synchronize` webhooks follow); `GET /_lab/deliveries` lists the webhooks built
so far (`?payloads=1` adds each one's JSON `payload`); `GET /_lab/installation-tokens` lists every installation
token issued so far (read-only; for tests that scan the bot's outputs for leaked credentials).
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from lab.github.http import error, read_json
from lab.github.repo import Invalid
from lab.github.runners import Session
from lab.github.sim import SIM, Sim
from lab.github.state import JobState

routes = web.RouteTableDef()
SESSIONS = "/_lab/runner/sessions"


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _session(request: web.Request) -> tuple[Sim, Session]:
    sim = request.app[SIM]
    session = sim.actions.pool.seen(request.match_info["sid"])
    if session is None:
        raise web.HTTPNotFound(text='{"message": "no such session"}', content_type="application/json")
    if not secrets.compare_digest(session.runner.token, _bearer(request)):
        raise web.HTTPUnauthorized(text='{"message": "Bad credentials"}', content_type="application/json")
    return sim, session


def _job(request: web.Request) -> tuple[Sim, Session, JobState]:
    sim, session = _session(request)
    job = sim.actions.jobs.get(int(request.match_info["job_id"]))
    if job is None:
        raise web.HTTPNotFound(text='{"message": "no such job"}', content_type="application/json")
    return sim, session, job


async def _job_report(request: web.Request) -> tuple[Sim, Session, JobState, dict[str, Any]]:
    """A runner's report on one of its jobs: the session, the job and the JSON body it posted."""
    sim, session, job = _job(request)
    return sim, session, job, await read_json(request)


@routes.post(SESSIONS)
async def open_session(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    body = await read_json(request)
    sid = sim.actions.pool.open_session(name=str(body.get("name") or ""), token=_bearer(request))
    if sid is None:
        return error(401, "Bad credentials")
    runner = sim.actions.pool.sessions[sid].runner
    timing = sim.config.timing
    return web.json_response(
        {
            "session_id": sid,
            "runner_id": runner.id,
            "long_poll": timing.long_poll,
            "heartbeat_interval": timing.heartbeat_interval,
        },
        status=201,
    )


@routes.delete(SESSIONS + "/{sid}")
async def close_session(request: web.Request) -> web.Response:
    sim, session = _session(request)
    sim.actions.pool.close_session(session.id)
    return web.Response(status=204)


@routes.post(SESSIONS + "/{sid}/heartbeat")
async def heartbeat(request: web.Request) -> web.Response:
    sim, session = _session(request)
    gone = [j for j in sorted(session.runner.jobs) if sim.actions.jobs[j].status == "completed"]
    return web.json_response({"cancelled_jobs": gone})


@routes.get(SESSIONS + "/{sid}/jobs")
async def poll(request: web.Request) -> web.Response:
    sim, session = _session(request)
    try:
        wait = float(request.query.get("wait", "0"))
    except ValueError:
        wait = 0.0
    try:
        offer = await sim.actions.pool.poll(session.id, wait)
    except KeyError:
        return error(404, "no such session")
    if offer is None:
        return web.Response(status=204)
    return web.json_response(offer)


@routes.post(SESSIONS + "/{sid}/jobs/{job_id}/acquire")
async def acquire(request: web.Request) -> web.Response:
    sim, session, job = _job(request)
    if not sim.actions.pool.acquire(session.id, job.id):
        return error(409, "job is not offered to this runner")
    # The names GitHub gives the job's runner and group (a hosted VM learns its name from the service).
    return web.json_response(
        {"job_id": job.id, "runner_name": job.runner_name, "runner_group_name": job.runner_group_name}
    )


@routes.post(SESSIONS + "/{sid}/jobs/{job_id}/logs")
async def append_log(request: web.Request) -> web.Response:
    """The runner uploads the job's log lines as it goes (each line already carries the runner's timestamp)."""
    _, session, job, body = await _job_report(request)
    if job.id in session.runner.jobs:
        job.log.extend(str(line) for line in body.get("lines") or [])
    return web.json_response({"cancelled": job.status == "completed"})


@routes.post(SESSIONS + "/{sid}/jobs/{job_id}/steps/{number}")
async def step(request: web.Request) -> web.Response:
    sim, session, job, body = await _job_report(request)
    if job.status != "completed" and job.id in session.runner.jobs:
        sim.actions.step_report(job, int(request.match_info["number"]), str(body.get("status")), body.get("conclusion"))
    return web.json_response({"cancelled": job.status == "completed"})


@routes.post(SESSIONS + "/{sid}/jobs/{job_id}/complete")
async def complete(request: web.Request) -> web.Response:
    sim, session, job, body = await _job_report(request)
    cancelled = job.status == "completed"
    if not cancelled and job.id in session.runner.jobs:
        outputs = {str(k): str(v) for k, v in (body.get("outputs") or {}).items()}
        sim.actions.finish_job(job, str(body.get("conclusion") or "failure"), outputs, body.get("message"))
    sim.actions.pool.finished(job.id)
    return web.json_response({"cancelled": cancelled})


@routes.post("/_lab/check-runs/{check_run_id}/requested-action")
async def click_action(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    run = sim.repo.check_runs.get(int(request.match_info["check_run_id"]))
    if run is None:
        return error(404, "Not Found")
    body = await read_json(request)
    try:
        sim.repo.requested_action(run, identifier=str(body.get("identifier")), user=str(body.get("user")))
    except Invalid as failure:
        return error(422, str(failure))
    return web.json_response({}, status=201)


@routes.get("/_lab/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    with_payloads = request.query.get("payloads") in ("1", "true")
    listed: list[dict[str, object]] = []
    for d in sim.hub.sent:
        entry: dict[str, object] = {"guid": d.guid, "event": d.event, "action": d.action}
        if with_payloads:
            entry["payload"] = d.payload
        listed.append(entry)
    return web.json_response(listed)


@routes.get("/_lab/installation-tokens")
async def installation_tokens(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return web.json_response([{"token": t.token} for t in sim.authority.installation_tokens.values()])


@routes.get("/_lab/requests")
async def requests_seen(request: web.Request) -> web.Response:
    """The authenticated REST requests so far: `at`, `method`, `route` (GitHub's path template), `status`, `kind`."""
    return web.json_response(list(request.app[SIM].requests))


@routes.post("/_lab/pulls/{number}/push")
async def push_to_pull(request: web.Request) -> web.Response:
    """A lab user pushes a new commit to the pull request's head branch; answers the pull request's new head."""
    sim = request.app[SIM]
    body = await read_json(request)
    user = str(body.get("user") or "")
    if not user:
        return error(422, "user is required")
    try:
        after = sim.repo.push_to_pull(int(request.match_info["number"]), user=user)
    except KeyError:
        return error(404, "Not Found")
    return web.json_response({"number": after.number, "ref": after.head_ref, "head_sha": after.head_sha}, status=201)
