"""REST endpoints of the simulated GitHub for the App's own webhook: list its deliveries and redeliver one, as
GitHub serves them (App JWT only; newest first; `per_page` at most 100 and a `cursor` from the `Link` header)."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from lab.github.http import error, invalid
from lab.github.rest_actions import _sim

routes = web.RouteTableDef()


@routes.get("/app/hook/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    sim = _sim(request)
    try:
        per_page = min(100, max(1, int(request.query.get("per_page", "30"))))
    except ValueError:
        return invalid("per_page must be an integer")
    try:
        chunk, next_cursor = sim.hub.log.page(cursor=request.query.get("cursor"), per_page=per_page)
    except ValueError:
        return invalid("cursor is not a valid cursor")
    headers = {}
    if next_cursor is not None:
        query = urlencode({"per_page": str(per_page), "cursor": next_cursor})
        headers["Link"] = f'<{sim.shapes.base}{request.path}?{query}>; rel="next"'
    return web.json_response([attempt.json() for attempt in chunk], headers=headers)


@routes.post("/app/hook/deliveries/{delivery_id}/attempts")
async def redeliver(request: web.Request) -> web.Response:
    sim = _sim(request)
    raw = request.match_info["delivery_id"]
    attempt = sim.hub.log.get(int(raw)) if raw.isdigit() else None
    if attempt is None:
        return error(404, "Not Found")
    sim.hub.redeliver(attempt)
    return web.json_response({}, status=202)
