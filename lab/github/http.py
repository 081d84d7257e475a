"""What every REST answer of the simulated GitHub shares: authentication, the App permission each endpoint needs,
`x-ratelimit-*` headers, `ETag`/`304`, `Link` pagination, GitHub's error bodies, and the `github-flaky` fault."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from lab.github.auth import APP_ONLY, ENDPOINT_PERMISSIONS, AuthError, Kind, Principal
from lab.github.repo import Invalid
from lab.github.sim import SIM

DOCS = "https://docs.github.com/rest"
PRINCIPAL = web.RequestKey("principal", Principal)
#: GitHub's web pages of the App-manifest flow and its conversion endpoint, which takes no credentials.
UNAUTHENTICATED_ROUTES = {
    "/settings/apps/new",
    "/organizations/{org}/settings/apps/new",
    "/app-manifests/{code}/conversions",
}
# The App webhook's delivery log (list, redeliver) is the App's own too: "You must use a JWT to access this endpoint."
JWT_ROUTES = {
    "/app",
    "/app/installations/{installation_id}/access_tokens",
    "/repos/{owner}/{repo}/installation",
    "/app/hook/deliveries",
    "/app/hook/deliveries/{delivery_id}/attempts",
}
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str, **extra: Any) -> web.Response:
    body = {"message": message, "documentation_url": DOCS, "status": str(status), **extra}
    return web.json_response(body, status=status)


def invalid(message: str) -> web.Response:
    return error(422, "Validation Failed", errors=[{"resource": "Request", "code": "invalid", "message": message}])


def found(value: T | None) -> T:
    """The resource a request's path names, or GitHub's 404 when there is none."""
    if value is None:
        raise web.HTTPNotFound(text='{"message": "Not Found"}', content_type="application/json")
    return value


def principal(request: web.Request) -> Principal:
    found: Principal = request[PRINCIPAL]
    return found


def page_of(request: web.Request, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """GitHub pagination: `per_page` (default 30, max 100) and `page`; a `Link` header when there is more."""
    try:
        per_page = min(100, max(1, int(request.query.get("per_page", "30"))))
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])
    links = []

    def url(n: int) -> str:
        query = {**request.query, "per_page": str(per_page), "page": str(n)}
        return f"{request.app[SIM].shapes.base}{request.path}?{urlencode(query)}"

    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
    return chunk, ({"Link": ", ".join(links)} if links else {})


def template(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


@web.middleware
async def github_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_lab/") or template(request) in UNAUTHENTICATED_ROUTES:
        return await handler(request)
    sim = request.app[SIM]
    sim.calls += 1
    flaky = sim.flaky
    now = time.time()
    if flaky.rate_limit_every and now - sim.last_rate_limited >= flaky.rate_limit_every:
        sim.last_rate_limited = now
        sim.config.truth.record("rest_rate_limited", path=request.path)
        limited = error(
            403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        )
        limited.headers["Retry-After"] = str(flaky.retry_after)
        return limited
    if flaky.error_share and sim.flaky_rng.random() < flaky.error_share:
        sim.config.truth.record("rest_502", path=request.path)
        return web.Response(status=502, text="Server Error")
    try:
        who = sim.authority.principal(request.headers.get("Authorization"))
    except AuthError as failure:
        return error(failure.status, str(failure))
    route = template(request)
    if who is None:
        return error(401, "Requires authentication")
    if (who.kind == Kind.APP) != (route in JWT_ROUTES):
        # App JWTs open only the App's own endpoints; everything else needs an installation (or user) token.
        return error(401, "A JSON web token could not be decoded" if who.kind != Kind.APP else "Bad credentials")
    if who.app_id is not None and route != "/app":
        # An App the manifest flow registered on the running lab is installed nowhere yet.
        return error(404, "Not Found")
    needed = ENDPOINT_PERMISSIONS.get((request.method, route))
    if needed and who.kind != Kind.APP and not who.allows(needed):
        # Recorded so a test can prove that a whole run stayed within the App's manifest (app.yml).
        sim.config.truth.record("rest_forbidden", method=request.method, path=route, principal=who.kind.value)
        return error(403, "Resource not accessible by integration" if who.kind == Kind.INSTALLATION else "Forbidden")
    if route in APP_ONLY and request.method in ("POST", "PATCH") and who.kind == Kind.USER:
        return error(403, "You must authenticate via a GitHub App.")
    request[PRINCIPAL] = who
    answer: web.StreamResponse
    try:
        answer = await handler(request)
    except Invalid as failure:
        answer = invalid(str(failure))
    sim.requests.append(
        {"at": now, "method": request.method, "route": route, "status": answer.status, "kind": who.kind.value}
    )
    conditional = request.method == "GET" and answer.status == 200 and isinstance(answer, web.Response)
    etag = None
    if conditional and isinstance(answer, web.Response) and answer.body is not None:
        raw = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.text).encode()
        etag = 'W/"' + hashlib.sha256(raw).hexdigest()[:40] + '"'
    if etag is not None and request.headers.get("If-None-Match") == etag:
        # GitHub: a 304 answer to a conditional request does not count against the rate limit.
        limit, remaining, reset = sim.rate.peek(who.token_key)
        answer = web.Response(status=304)
    else:
        limit, remaining, reset = sim.rate.count(who.token_key)
    if etag is not None:
        answer.headers["ETag"] = etag
    answer.headers.update(
        {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-used": str(limit - remaining),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": request.headers.get("X-GitHub-Api-Version", "2022-11-28"),
            "x-github-media-type": "github.v3; format=json",
        }
    )
    return answer


async def read_json(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:  # not can_read_body: the OpenAPI check may have read it
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as failure:
        raise web.HTTPBadRequest(
            text=json.dumps({"message": "Problems parsing JSON", "documentation_url": DOCS}),
            content_type="application/json",
        ) from failure
    return body if isinstance(body, dict) else {}
