"""The history of verifications on the web, for the SREs watching staging drift: `GET /verifications` (HTML) and
`GET /verifications.json`.

Served only when `server.public_url` is set. The page lists every configured repository's verdicts and the ids
that open each details page, so it is not open by default: a request must carry the Bearer token
VERIFY_STAGING_HISTORY_TOKEN, unless `server.history_public: true` opens it to anyone who can reach the bot.
Without either, the routes answer 404 as if absent.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.details import SECURITY_HEADERS
from bot.reporting.history_page import history_json, render_history
from bot.reporting.trends import EnvironmentHistory, load_history
from bot.settings import Settings
from bot.store import Store
from bot.texts import history as texts

#: Verifications per environment the page loads: its trend charts span them.
HISTORY_LIMIT = 30


class HistoryPages:
    """The two routes, given the store and who may see them."""

    def __init__(self, *, store: Store, settings: Settings) -> None:
        self._store = store
        self._public_url = settings.server.public_url or ""
        self._public = settings.server.history_public
        self._token = settings.secrets.history_token
        self._environments = list(settings.environments)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/verifications", self.page)
        app.router.add_get("/verifications.json", self.json)

    async def page(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        body = render_history(await self._load(), public_url=self._public_url)
        return _with_headers(web.Response(text=body, content_type="text/html", charset="utf-8"))

    async def json(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return _with_headers(web.json_response(history_json(await self._load(), public_url=self._public_url)))

    async def _load(self) -> list[EnvironmentHistory]:
        # Configured environments first (in settings order), then any the history still holds from before.
        known = await self._store.history_environments()
        names = [*self._environments, *(n for n in known if n not in self._environments)]
        return [await load_history(self._store, environment=n, limit=HISTORY_LIMIT) for n in names]

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self._public:
            return None
        if self._token is None:
            return _with_headers(web.Response(status=404, text="Not Found"))
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {self._token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        response = web.Response(status=401, text=texts.PAGE_UNAUTHORIZED)
        response.headers["WWW-Authenticate"] = 'Bearer realm="verify-staging"'
        return _with_headers(response)


def _with_headers(response: web.Response) -> web.Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def history_pages(settings: Settings, store: Store) -> HistoryPages | None:
    """The history routes `serve` answers, or None when `server.public_url` is not set."""
    if settings.server.public_url is None:
        return None
    return HistoryPages(store=store, settings=settings)
