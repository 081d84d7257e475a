"""Jobs' logs as GitHub serves them: `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs` answers `302` with a
short-lived signed URL, and that URL serves the log as plain text to anyone who has it, with no credentials.

GitHub's Location points at its results storage (a signed blob URL, valid about a minute). Here it is
`/_lab/logs/{job_id}?expires=…&sig=…` on the same server, signed with HMAC-SHA256. A download that carries an
`Authorization` header is recorded (`GET /_lab/log-downloads`) and refused with 400: a client must not hand its
GitHub token to the storage host, and the lab makes one that does fail loudly instead of passing quietly.
"""

from __future__ import annotations

from aiohttp import web

from lab.github.http import error
from lab.github.sim import SIM

routes = web.RouteTableDef()
LOGS = "/_lab/logs/{job_id}"


@routes.get("/repos/{owner}/{repo}/actions/jobs/{job_id}/logs")
async def job_logs(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    full = f"{request.match_info['owner']}/{request.match_info['repo']}"
    job = sim.actions.jobs.get(int(request.match_info["job_id"])) if request.match_info["job_id"].isdigit() else None
    if full.lower() != sim.config.repository.lower() or job is None or not job.log:
        return error(404, "Not Found")  # GitHub has no log for a job no runner started
    location = f"{sim.shapes.base}/_lab/logs/{job.id}?{sim.log_signer.query(job.id)}"
    return web.Response(status=302, headers={"Location": location})


@routes.get(LOGS)
async def signed_log(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    job_id = int(request.match_info["job_id"]) if request.match_info["job_id"].isdigit() else 0
    authorized = "Authorization" in request.headers
    sim.log_downloads.append({"job_id": job_id, "authorization": authorized})
    if authorized:
        return web.Response(status=400, text="Only one authentication mechanism is allowed: the URL is signed.")
    if not sim.log_signer.valid(job_id, request.query.get("expires", ""), request.query.get("sig", "")):
        return web.Response(status=403, text="Signature not valid or expired.")
    job = sim.actions.jobs.get(job_id)
    if job is None:
        return web.Response(status=404, text="The specified blob does not exist.")
    # A byte-order mark opens the file, as in GitHub's downloads.
    return web.Response(text="\ufeff" + "".join(line + "\n" for line in job.log), content_type="text/plain")


@routes.get("/_lab/log-downloads")
async def log_downloads(request: web.Request) -> web.Response:
    """Every download of a signed log URL so far: `job_id`, and whether an `Authorization` header came with it."""
    return web.json_response(list(request.app[SIM].log_downloads))
