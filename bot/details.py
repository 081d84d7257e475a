"""The details page of each verification, for people following a check run's "details" link:
`GET /verifications/{id}` (HTML) and `GET /verifications/{id}/timeline.svg` (the timeline picture).

Served only when `server.public_url` is set. Nobody logs in: a verification's id is the key to its page, so ids
are unguessable (96 random bits) and an unknown or malformed id is a plain 404. Drawing a timeline costs CPU, so
it is done off the event loop (webhooks keep being answered) and kept for finished verifications.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.model import Verification
from bot.reporting.comment_render import html_base
from bot.reporting.details_page import PageLinks, Redactor, not_found_page, render_details
from bot.reporting.timeline import timeline_svg
from bot.settings import Settings
from bot.store import Store

#: Ids the bot makes (`vs-` + hex) and older ones; anything else cannot be a verification and is not looked up.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: The page loads nothing from elsewhere and runs no script; its only styles are inline (the SVG's included). Its
#: address is the key to it, so following a link from it (to GitHub, JIRA) must not send that address along.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Timelines of finished verifications kept in memory (each is some 25 KB of SVG).
CACHE_SIZE = 32

Loader = Callable[[str], Awaitable[Verification | None]]


class DetailsPages:
    """The two routes, given how to load a verification and what the page must never show."""

    def __init__(self, *, load: Loader, links: PageLinks, redact: Redactor) -> None:
        self._load = load
        self._links = links
        self._redact = redact
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/verifications/{verification_id}", self.page)
        app.router.add_get("/verifications/{verification_id}/timeline.svg", self.timeline)

    async def page(self, request: web.Request) -> web.Response:
        v = await self._find(request)
        if v is None:
            return _respond(not_found_page(), "text/html", status=404)
        svg = await self._svg(v)
        body = render_details(v, svg=svg, links=self._links)
        return _respond(body, "text/html")

    async def timeline(self, request: web.Request) -> web.Response:
        v = await self._find(request)
        if v is None:
            return _respond(not_found_page(), "text/html", status=404)
        return _respond(await self._svg(v), "image/svg+xml")

    async def _find(self, request: web.Request) -> Verification | None:
        """The verification of the request's id, redacted: nothing shown from it can carry an address or secret."""
        verification_id = request.match_info["verification_id"]
        if not _ID.fullmatch(verification_id):
            return None
        v = await self._load(verification_id)
        return self._redact.verification(v) if v is not None else None

    async def _svg(self, v: Verification) -> str:
        # Only a finished verification's picture is final; a running one is drawn afresh on every visit.
        key = (v.verification_id, v.completed_at.isoformat()) if v.completed_at and v.conclusion else None
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        svg = await asyncio.to_thread(timeline_svg, v)
        if key is not None:
            self._cache[key] = svg
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return svg


def _respond(body: str, content_type: str, *, status: int = 200) -> web.Response:
    response = web.Response(text=body, content_type=content_type, charset="utf-8", status=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def details_pages(settings: Settings, store: Store) -> DetailsPages | None:
    """The details pages `serve` answers, or None when `server.public_url` is not set."""
    if settings.server.public_url is None:
        return None
    secrets = settings.secrets
    hidden: list[str | None] = [secrets.webhook_secret, secrets.jira_token, secrets.jira_password, secrets.ssh_key_path]
    hidden += [line for line in secrets.private_key.splitlines() if "-----" not in line]
    hidden += [secrets.grafana_token, secrets.prometheus_token, secrets.alertmanager_token]
    for host in settings.ssh.hosts.values():
        hidden += [f"{host.address}:{host.port}", host.address]
    return DetailsPages(
        load=store.load_verification,
        links=PageLinks(github_web=html_base(secrets.api_url), jira_url=secrets.jira_url),
        redact=Redactor.of(hidden, shown=settings.ssh.hosts),
    )
