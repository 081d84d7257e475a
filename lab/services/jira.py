"""The JIRA stand-in: the REST v2 surface the `jira` library uses, with a To Do / In Progress / In Review / Done flow.

Server info, issue (`?expand=changelog` lists the status changes), transitions (list and do), comments,
attachments (multipart upload that needs `X-Atlassian-Token: no-check` as Jira's XSRF check does, listed in the
issue's `attachment` field, downloaded from their `content` URL, deleted), `myself`; token (Bearer) and basic auth,
both acting as the configured user. Only the transitions of the issue's current status are offered; any other
answers 400 with Jira's error body `{"errorMessages": [...], "errors": {}}`. A transition id is accepted as a string
or an int, as the library sends either.
"""

from __future__ import annotations

import base64
import itertools
import mimetypes
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, abort, jsonify, make_response, request


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str


STATUS_IDS = {"To Do": "10000", "In Progress": "3", "In Review": "10001", "Done": "10002"}

# The workflow: To Do -> In Progress -> In Review -> Done, Reopen back to To Do.
WORKFLOW: dict[str, tuple[Transition, ...]] = {
    "To Do": (Transition("11", "Start Progress", "In Progress"),),
    "In Progress": (Transition("21", "Request Review", "In Review"), Transition("51", "Stop Progress", "To Do")),
    "In Review": (
        Transition("31", "Done", "Done"),
        Transition("41", "Reopen", "To Do"),
        Transition("61", "Back to In Progress", "In Progress"),
    ),
    "Done": (Transition("41", "Reopen", "To Do"),),
}


@dataclass(frozen=True)
class JiraConfig:
    port: int
    token: str = field(repr=False)
    user: str
    password: str = field(repr=False)
    issue: str
    summary: str = ""
    status: str = "To Do"


@dataclass
class Issue:
    key: str
    summary: str
    status: str
    comments: list[dict[str, Any]] = field(default_factory=list)
    histories: list[dict[str, Any]] = field(default_factory=list)  # status changes, Jira's changelog shape
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Attachment:
    id: str
    filename: str
    content: bytes = field(repr=False)
    mime_type: str
    author: str
    created: str


#: Jira's default attachment size limit (jira.attachment.size), 10 MB.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"errorMessages": [message], "errors": {}}), status


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _transition_json(t: Transition) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "to": {"id": STATUS_IDS.get(t.to, "1"), "name": t.to}}


def create_app(raw: dict[str, Any]) -> Flask:
    config = JiraConfig(**raw)
    issues = {config.issue: Issue(key=config.issue, summary=config.summary, status=config.status)}
    lock = threading.Lock()
    app = Flask("lab-jira")
    app.config["MAX_CONTENT_LENGTH"] = MAX_ATTACHMENT_BYTES + 64 * 1024
    attachment_ids = itertools.count(10200)
    basic = "Basic " + base64.b64encode(f"{config.user}:{config.password}".encode()).decode()

    @app.before_request
    def authenticate() -> tuple[Response, int] | None:
        header = request.headers.get("Authorization", "")
        if header in (f"Bearer {config.token}", basic):
            return None
        return _error(401, "You are not authenticated. Authentication required to perform this operation.")

    def issue_json(issue: Issue) -> dict[str, Any]:
        return {
            "id": "10473",
            "key": issue.key,
            "self": f"{request.host_url}rest/api/2/issue/{issue.key}",
            "fields": {
                "summary": issue.summary,
                "status": {"id": STATUS_IDS.get(issue.status, "1"), "name": issue.status},
                "comment": {"comments": issue.comments, "total": len(issue.comments)},
                "attachment": [attachment_json(a) for a in issue.attachments],
            },
            **({"changelog": changelog(issue)} if "changelog" in request.args.get("expand", "") else {}),
        }

    def user_json(name: str) -> dict[str, Any]:
        return {"name": name, "key": name, "displayName": name, "active": True}

    def attachment_json(a: Attachment) -> dict[str, Any]:
        base = request.host_url
        return {
            "self": f"{base}rest/api/2/attachment/{a.id}",
            "id": a.id,
            "filename": a.filename,
            "author": user_json(a.author),
            "created": a.created,
            "size": len(a.content),
            "mimeType": a.mime_type,
            "content": f"{base}secure/attachment/{a.id}/{quote(a.filename)}",
        }

    def find_attachment(attachment_id: str) -> tuple[Issue, Attachment]:
        for issue in issues.values():
            for a in issue.attachments:
                if a.id == attachment_id:
                    return issue, a
        abort(make_response(_error(404, f"The attachment with id '{attachment_id}' does not exist")))

    def changelog(issue: Issue) -> dict[str, Any]:
        return {
            "startAt": 0,
            "maxResults": len(issue.histories),
            "total": len(issue.histories),
            "histories": issue.histories,
        }

    def issue_or_404(key: str) -> Issue:
        """The issue with this key, or JIRA's 404 answer (raised, so Flask sends it)."""
        issue = issues.get(key)
        if issue is None:
            abort(make_response(_error(404, "Issue Does Not Exist")))
        return issue

    def add_comment(issue: Issue, body: str) -> dict[str, Any]:
        comment = {
            "id": str(10100 + len(issue.comments)),
            "body": body,
            "author": {"name": config.user, "displayName": config.user},
            "created": _now(),
        }
        issue.comments.append(comment)
        return comment

    @app.get("/rest/api/2/serverInfo")
    def server_info() -> Response:
        return jsonify(
            {
                "baseUrl": request.host_url.rstrip("/"),
                "version": "9.12.0",
                "versionNumbers": [9, 12, 0],
                "deploymentType": "Server",
                "buildNumber": 912000,
                "serverTitle": "Lab JIRA",
            }
        )

    @app.get("/rest/api/2/issue/<key>")
    def get_issue(key: str) -> tuple[Response, int]:
        with lock:
            issue = issue_or_404(key)
            return jsonify(issue_json(issue)), 200

    @app.get("/rest/api/2/issue/<key>/transitions")
    def list_transitions(key: str) -> tuple[Response, int]:
        with lock:
            issue = issue_or_404(key)
            offered = [_transition_json(t) for t in WORKFLOW.get(issue.status, ())]
        return jsonify({"expand": "transitions", "transitions": offered}), 200

    @app.post("/rest/api/2/issue/<key>/transitions")
    def do_transition(key: str) -> tuple[Response, int] | tuple[str, int]:
        body = request.get_json(silent=True) or {}
        wanted = str((body.get("transition") or {}).get("id", ""))
        with lock:
            issue = issue_or_404(key)
            chosen = next((t for t in WORKFLOW.get(issue.status, ()) if t.id == wanted), None)
            if chosen is None:
                return _error(400, f"Transition id '{wanted}' is not valid for this issue.")
            issue.histories.append(
                {
                    "id": str(10000 + len(issue.histories)),
                    "created": _now(),
                    "items": [{"field": "status", "fromString": issue.status, "toString": chosen.to}],
                }
            )
            issue.status = chosen.to
            for update in (body.get("update") or {}).get("comment", []):
                text = (update.get("add") or {}).get("body")
                if text:
                    add_comment(issue, str(text))
        return "", 204

    @app.get("/rest/api/2/issue/<key>/comment")
    def list_comments(key: str) -> tuple[Response, int]:
        with lock:
            issue = issue_or_404(key)
            comments = list(issue.comments)
        return jsonify({"comments": comments, "startAt": 0, "maxResults": len(comments), "total": len(comments)}), 200

    @app.post("/rest/api/2/issue/<key>/comment")
    def post_comment(key: str) -> tuple[Response, int]:
        body = request.get_json(silent=True) or {}
        text = body.get("body")
        if not isinstance(text, str) or not text:
            return jsonify({"errorMessages": [], "errors": {"comment": "Comment body can not be empty!"}}), 400
        with lock:
            issue = issue_or_404(key)
            comment = add_comment(issue, text)
        return jsonify(comment), 201

    @app.get("/rest/api/2/myself")
    def myself() -> Response:
        return jsonify({**user_json(config.user), "self": f"{request.host_url}rest/api/2/user?username={config.user}"})

    @app.post("/rest/api/2/issue/<key>/attachments")
    def add_attachments(key: str) -> tuple[Response, int] | tuple[str, int]:
        # Jira's XSRF protection: a form post without this header is refused before anything is read.
        if request.headers.get("X-Atlassian-Token", "").lower() not in ("no-check", "nocheck"):
            return "XSRF check failed", 403
        uploads = request.files.getlist("file")
        if not uploads:
            return _error(400, "No file was attached (multipart field 'file').")
        with lock:
            issue = issue_or_404(key)
            added = []
            for upload in uploads:
                content = upload.read()
                if len(content) > MAX_ATTACHMENT_BYTES:
                    return _error(413, f"{upload.filename} is larger than the limit of {MAX_ATTACHMENT_BYTES} bytes")
                name = upload.filename or "attachment"
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                attachment = Attachment(str(next(attachment_ids)), name, content, mime, config.user, _now())
                issue.attachments.append(attachment)
                added.append(attachment_json(attachment))
        return jsonify(added), 200

    @app.get("/rest/api/2/attachment/<attachment_id>")
    def get_attachment(attachment_id: str) -> tuple[Response, int]:
        with lock:
            _, attachment = find_attachment(attachment_id)
            return jsonify(attachment_json(attachment)), 200

    @app.delete("/rest/api/2/attachment/<attachment_id>")
    def delete_attachment(attachment_id: str) -> tuple[str, int]:
        with lock:
            issue, attachment = find_attachment(attachment_id)
            issue.attachments.remove(attachment)
        return "", 204

    @app.get("/secure/attachment/<attachment_id>/<path:filename>")
    def download(attachment_id: str, filename: str) -> Response:
        with lock:
            _, attachment = find_attachment(attachment_id)
        if attachment.filename != filename:
            abort(make_response(_error(404, "Attachment not found")))
        response = make_response(attachment.content)
        response.headers["Content-Type"] = attachment.mime_type
        response.headers["Content-Disposition"] = f'attachment; filename="{attachment.filename}"'
        return response

    return app
