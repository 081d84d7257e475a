"""Holds every REST request to the simulated GitHub to GitHub's published description: a request GitHub does not
document (path, method, query parameter or JSON body field) is answered 422 and recorded in the truth log as
`undocumented_request`; with `SimConfig.answers_log` set, every answer is also written there (one JSON line each) so
a test can check it against the documented response schema.

Exempt, because they are not GitHub's REST API: `EXEMPT_PREFIXES` (the lab's own control endpoints, the runner
agents' protocol and the signed log downloads a `302` from the API points to, all under `/_lab/`) and
`EXEMPT_PAGES` (GitHub's web pages, which browsers rather than API clients open).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from lab.github.http import DOCS, PRINCIPAL
from lab.github.openapi import Description, Operation
from lab.github.sim import SIM

EXEMPT_PREFIXES = (
    "/_lab/",  # lab control (`/_lab/deliveries`, ...), runner protocol (`/_lab/runner/`), log blobs (`/_lab/logs/`)
)
EXEMPT_PAGES = (
    # The App manifest flow's "new App" pages (a form posted by the user's browser, not an API call):
    # https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
    re.compile(r"/settings/apps/new"),
    re.compile(r"/organizations/[^/]+/settings/apps/new"),
)
OPENAPI = web.AppKey("openapi", Description)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def exempt(path: str) -> bool:
    return path.startswith(EXEMPT_PREFIXES) or any(page.fullmatch(path) for page in EXEMPT_PAGES)


async def json_body(request: web.Request) -> object:
    """The request's JSON body, or None when it has none (or it is not JSON: the handler answers that)."""
    if not request.body_exists:
        return None
    raw = await request.read()  # aiohttp keeps the bytes, so the handler reads them again
    try:
        return json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None


@web.middleware
async def openapi_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if exempt(request.path):
        return await handler(request)
    sim = request.app[SIM]
    verdict = request.app[OPENAPI].check(request.method, request.path, request.query.keys(), await json_body(request))
    if verdict.problem:
        documented = verdict.operation.template if verdict.operation else None
        sim.config.truth.record(
            "undocumented_request",
            method=request.method,
            path=request.path,
            operation=documented,
            query=sorted(request.query.keys()),
            problem=verdict.problem,
        )
        docs = verdict.operation.docs if verdict.operation else DOCS
        return web.json_response({"message": verdict.problem, "documentation_url": docs, "status": "422"}, status=422)
    log = sim.config.answers_log
    if log is None:
        return await handler(request)
    assert verdict.operation is not None
    try:
        answer = await handler(request)
    except web.HTTPException as raised:
        record_answer(log, request, verdict.operation, raised)
        raise
    record_answer(log, request, verdict.operation, answer)
    return answer


def record_answer(log: Path, request: web.Request, operation: Operation, answer: web.StreamResponse) -> None:
    """Appends `{method, path, operation, status, principal, content_type, body}` (body parsed when JSON)."""
    raw = answer.body if isinstance(answer, web.Response) and isinstance(answer.body, bytes) else b""
    body: object = None
    if raw and "json" in (answer.content_type or ""):
        body = json.loads(raw)
    who = request.get(PRINCIPAL)
    line = {
        "method": operation.method,
        "path": request.path,
        "operation": operation.template,
        "status": answer.status,
        "principal": who.kind.value if who is not None else None,
        "content_type": answer.content_type,
        "body": body,
    }
    with log.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
