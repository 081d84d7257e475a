"""REST endpoints of the simulated GitHub for the repository: check runs, issue comments and reactions,
collaborator permission, team membership, issues, pull requests, contents."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import yaml
from aiohttp import web

from lab.github.config import Permission
from lab.github.http import error, found, invalid, page_of, principal, read_json
from lab.github.rest_actions import REPO, _sim
from lab.github.state import CheckRunState, CommentState

routes = web.RouteTableDef()


def _check_run(request: web.Request) -> CheckRunState:
    return found(_sim(request).repo.check_runs.get(int(request.match_info["check_run_id"])))


def _comment(request: web.Request) -> CommentState:
    return found(_sim(request).repo.comments.get(int(request.match_info["comment_id"])))


@routes.get(REPO)
async def get_repository(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).shapes.full_repository())


# ---------------------------------------------------------------------------------------------- check runs
@routes.post(REPO + "/check-runs")
async def create_check_run(request: web.Request) -> web.Response:
    sim = _sim(request)
    run = sim.repo.create_check_run(await read_json(request))
    return web.json_response(sim.repo.check_json(run), status=201)


@routes.patch(REPO + "/check-runs/{check_run_id}")
async def update_check_run(request: web.Request) -> web.Response:
    sim = _sim(request)
    run = _check_run(request)
    sim.repo.update_check_run(run, await read_json(request))
    return web.json_response(sim.repo.check_json(run))


@routes.get(REPO + "/check-runs/{check_run_id}")
async def get_check_run(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).repo.check_json(_check_run(request)))


@routes.post(REPO + "/check-runs/{check_run_id}/rerequest")
async def rerequest_check_run(request: web.Request) -> web.Response:
    sim = _sim(request)
    sim.repo.rerequest(_check_run(request), user=principal(request).login)
    return web.json_response({}, status=201)


@routes.get(REPO + "/commits/{ref}/check-runs")
async def list_check_runs(request: web.Request) -> web.Response:
    sim = _sim(request)
    ref = request.match_info["ref"]
    sha = next((p.head_sha for p in sim.pulls if p.head_ref == ref), ref)
    if ref == sim.config.default_branch:
        sha = sim.config.head_sha
    runs = [r for r in sim.repo.check_runs.values() if r.head_sha == sha]
    if "check_name" in request.query:
        runs = [r for r in runs if r.name == request.query["check_name"]]
    if "status" in request.query:
        runs = [r for r in runs if r.status == request.query["status"]]
    runs.sort(key=lambda r: r.id, reverse=True)
    chunk, headers = page_of(request, runs)
    body = {"total_count": len(runs), "check_runs": [sim.repo.check_json(r) for r in chunk]}
    return web.json_response(body, headers=headers)


# ---------------------------------------------------------------------------------------------- comments
@routes.post(REPO + "/issues/{number}/comments")
async def create_comment(request: web.Request) -> web.Response:
    sim = _sim(request)
    number = int(request.match_info["number"])
    if number not in sim.repo.issues:
        return error(404, "Not Found")
    body = await read_json(request)
    comment = sim.repo.add_comment(number=number, body=str(body.get("body") or ""), user=principal(request).login)
    return web.json_response(sim.repo.comment_json(comment), status=201)


@routes.get(REPO + "/issues/{number}/comments")
async def list_comments(request: web.Request) -> web.Response:
    sim = _sim(request)
    number = int(request.match_info["number"])
    if number not in sim.repo.issues:
        return error(404, "Not Found")
    found = sorted((c for c in sim.repo.comments.values() if c.issue_number == number), key=lambda c: c.id)
    chunk, headers = page_of(request, found)
    return web.json_response([sim.repo.comment_json(c) for c in chunk], headers=headers)


@routes.get(REPO + "/issues/comments/{comment_id}")
async def get_comment(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).repo.comment_json(_comment(request)))


@routes.patch(REPO + "/issues/comments/{comment_id}")
async def update_comment(request: web.Request) -> web.Response:
    sim = _sim(request)
    comment = _comment(request)
    who = principal(request)
    if comment.user != who.login and not sim.repo.role(who.login).at_least(Permission.WRITE):
        return error(403, "Resource not accessible by integration")
    body = await read_json(request)
    if not body.get("body"):
        return invalid("body is required")
    sim.repo.edit_comment(comment, body=str(body["body"]), user=who.login)
    return web.json_response(sim.repo.comment_json(comment))


@routes.post(REPO + "/issues/comments/{comment_id}/reactions")
async def add_reaction(request: web.Request) -> web.Response:
    sim = _sim(request)
    comment = _comment(request)
    body = await read_json(request)
    reaction = sim.repo.react(comment, content=str(body.get("content")), user=principal(request).login)
    answer = {
        "id": reaction.id,
        "node_id": base64.b64encode(f"0:REA{reaction.id}".encode()).decode(),
        "user": sim.shapes.user(reaction.user),
        "content": reaction.content,
        "created_at": sim.shapes.comment(comment, "NONE")["updated_at"],
    }
    # GitHub: 201 when the reaction is new, 200 when this user already reacted with this content.
    return web.json_response(answer, status=201 if reaction.created else 200)


# ---------------------------------------------------------------------------------------------- people
@routes.get(REPO + "/collaborators/{username}/permission")
async def collaborator_permission(request: web.Request) -> web.Response:
    sim = _sim(request)
    login = request.match_info["username"]
    spec = next((u for u in sim.config.users if u.login == login), None)
    if spec is None:
        return error(404, "Not Found")
    role = spec.permission
    user = sim.shapes.user(login)
    # Each flag is what the role may do: push is write or higher, triage is triage or higher.
    user["permissions"] = {
        "admin": role.at_least(Permission.ADMIN),
        "maintain": role.at_least(Permission.MAINTAIN),
        "push": role.at_least(Permission.WRITE),
        "triage": role.at_least(Permission.TRIAGE),
        "pull": role.at_least(Permission.READ),
    }
    user["role_name"] = role.value
    # `permission` is legacy: GitHub folds maintain into write and triage into read; `role_name` is the real role.
    return web.json_response({"permission": role.legacy.value, "role_name": role.value, "user": user})


@routes.get("/orgs/{org}/teams/{team_slug}/memberships/{username}")
async def team_membership(request: web.Request) -> web.Response:
    sim = _sim(request)
    org, slug, login = (request.match_info[k] for k in ("org", "team_slug", "username"))
    members = sim.config.teams.get(f"{org}/{slug}")
    if members is None or login not in members:
        return error(404, "Not Found")
    return web.json_response(
        {
            "url": f"{sim.shapes.base}/organizations/{sim.shapes.org_id}/team/{slug}/memberships/{login}",
            "role": "member",
            "state": "active",
        }
    )


# ---------------------------------------------------------------------------------------------- issues
@routes.post(REPO + "/issues")
async def create_issue(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = await read_json(request)
    labels = [str(label if isinstance(label, str) else label.get("name")) for label in body.get("labels") or []]
    issue = sim.repo.create_issue(
        title=str(body.get("title") or ""),
        body=str(body.get("body") or ""),
        labels=labels,
        user=principal(request).login,
    )
    return web.json_response(sim.repo.issue_json(issue), status=201)


@routes.get(REPO + "/issues")
async def list_issues(request: web.Request) -> web.Response:
    sim = _sim(request)
    labels = [label for label in request.query.get("labels", "").split(",") if label]
    since_raw = request.query.get("since")
    try:
        since = datetime.fromisoformat(since_raw.replace("Z", "+00:00")) if since_raw else None
    except ValueError:
        return invalid("since must be an ISO 8601 timestamp")
    found = sim.repo.list_issues(labels=labels, since=since, state=request.query.get("state", "open"))
    chunk, headers = page_of(request, found)
    return web.json_response([sim.repo.issue_json(i) for i in chunk], headers=headers)


@routes.get(REPO + "/issues/{number}")
async def get_issue(request: web.Request) -> web.Response:
    sim = _sim(request)
    issue = sim.repo.issues.get(int(request.match_info["number"]))
    if issue is None:
        return error(404, "Not Found")
    return web.json_response(sim.repo.issue_json(issue))


@routes.get(REPO + "/pulls/{number}")
async def get_pull(request: web.Request) -> web.Response:
    sim = _sim(request)
    number = int(request.match_info["number"])
    spec = sim.pulls.get(number)
    if spec is None:
        return error(404, "Not Found")
    return web.json_response(sim.shapes.pull_request(spec, sim.repo.issue_json(sim.repo.issues[number])))


@routes.get(REPO + "/contents/{path:.*}")
async def get_contents(request: web.Request) -> web.Response:
    sim = _sim(request)
    path = request.match_info["path"].strip("/")
    text = sim.config.files.get(path)
    if text is None and path in sim.config.workflows:
        text = yaml.safe_dump(sim.config.workflows[path], sort_keys=False)
    if text is None:
        return error(404, "Not Found")
    raw = text.encode()
    if request.headers.get("Accept", "").startswith("application/vnd.github.raw"):
        return web.Response(body=raw, content_type="text/plain")
    sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()  # git blob id
    url = f"{sim.shapes.repo_api}/contents/{path}"
    return web.json_response(
        {
            "type": "file",
            "encoding": "base64",
            "size": len(raw),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.encodebytes(raw).decode(),
            "sha": sha,
            "url": url,
            "git_url": f"{sim.shapes.repo_api}/git/blobs/{sha}",
            "html_url": f"{sim.shapes.repo_html}/blob/{sim.config.default_branch}/{path}",
            "download_url": f"{sim.shapes.base}/_raw/{sim.config.repository}/{path}",
            "_links": {
                "self": url,
                "git": f"{sim.shapes.repo_api}/git/blobs/{sha}",
                "html": f"{sim.shapes.repo_html}/blob/{sim.config.default_branch}/{path}",
            },
        }
    )
