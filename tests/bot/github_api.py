"""A local aiohttp server standing in for api.github.com: answers the REST calls the front door makes and records
every request, so tests assert on what the bot really sent over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.settings import REPOSITORY

INSTALLATION_TOKEN = "ghs_installationtoken0123456789abcdef"


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


Answer = tuple[int, Any, dict[str, str]]
Handler = Callable[[Captured, re.Match[str]], Answer]


@dataclass
class FakeGitHubAPI:
    permissions: dict[str, str] = field(default_factory=lambda: {"alice-admin": "admin", "bob-reader": "read"})
    teams: dict[str, set[str]] = field(default_factory=dict)  # org/team -> members
    head_repo: str | None = REPOSITORY
    pr_title: str = "INFRA-473: GitHub runner deployment (US1)"
    requests: list[Captured] = field(default_factory=list)
    overrides: list[tuple[str, re.Pattern[str], Handler]] = field(default_factory=list)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def on(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method pattern` with handler (checked before the defaults)."""
        self.overrides.insert(0, (method, re.compile(pattern), handler))

    def sent(self, method: str, pattern: str) -> list[Captured]:
        rx = re.compile(pattern)
        return [r for r in self.requests if r.method == method and rx.fullmatch(r.path)]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = json.loads(raw) if raw else None
        headers = {k.lower(): v for k, v in request.headers.items()}
        captured = Captured(request.method, request.path, dict(request.query), headers, body)
        self.requests.append(captured)
        for method, pattern, handler in [*self.overrides, *self._defaults()]:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                status, answer, headers = handler(captured, match)
                if status == 204 or 300 <= status < 400:  # no content; a redirect's target is in its headers
                    return web.Response(status=status, headers=headers)
                if isinstance(answer, str):  # plain text, as a job's log is served
                    return web.Response(status=status, text=answer, headers=headers)
                return web.json_response(answer, status=status, headers=headers)
        return web.json_response({"message": "Not Found"}, status=404)

    def _defaults(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        routes: list[tuple[str, str, Handler]] = [
            ("POST", r"/app/installations/(\d+)/access_tokens", self._token),
            ("GET", r"/repos/([^/]+/[^/]+)/installation", lambda c, m: (200, {"id": 1001}, {})),
            ("GET", r"/repos/[^/]+/[^/]+/collaborators/([^/]+)/permission", self._permission),
            ("GET", r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", self._membership),
            ("GET", r"/repos/([^/]+/[^/]+)/pulls/(\d+)", self._pull),
            ("POST", r"/repos/[^/]+/[^/]+/issues/comments/\d+/reactions", lambda c, m: (201, {"id": 1}, {})),
            ("POST", r"/repos/[^/]+/[^/]+/issues/\d+/comments", lambda c, m: (201, {"id": 9001}, {})),
            ("GET", r"/repos/[^/]+/[^/]+/actions/runners", self._runners),
            ("GET", r"/app/hook/deliveries", lambda c, m: (200, [], {})),  # the redelivery sweep: none failed
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in routes]

    def _token(self, c: Captured, m: re.Match[str]) -> Answer:
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {"token": INSTALLATION_TOKEN, "expires_at": expires}, {}

    def _permission(self, c: Captured, m: re.Match[str]) -> Answer:
        permission = self.permissions.get(m.group(1), "none")
        legacy = {"maintain": "write", "triage": "read"}.get(permission, permission)
        return 200, {"permission": legacy, "role_name": permission, "user": {"login": m.group(1)}}, {}

    def _membership(self, c: Captured, m: re.Match[str]) -> Answer:
        if m.group(3) in self.teams.get(f"{m.group(1)}/{m.group(2)}", set()):
            return 200, {"state": "active", "role": "member"}, {}
        return 404, {"message": "Not Found"}, {}

    def _pull(self, c: Captured, m: re.Match[str]) -> Answer:
        head_repo = {"full_name": self.head_repo} if self.head_repo else None
        return (
            200,
            {
                "number": int(m.group(2)),
                "title": self.pr_title,
                "state": "open",
                "html_url": f"https://github.com/{m.group(1)}/pull/{m.group(2)}",
                "head": {"sha": "a" * 40, "ref": "001-github-runner-deploy", "repo": head_repo},
                "base": {"ref": "main", "repo": {"full_name": m.group(1)}},
            },
            {},
        )

    def _runners(self, c: Captured, m: re.Match[str]) -> Answer:
        runners = [
            {"id": 1, "name": "production-runner-01", "status": "online", "busy": True, "labels": []},
            {"id": 2, "name": "production-runner-02", "status": "offline", "busy": False, "labels": []},
        ]
        return 200, {"total_count": len(runners), "runners": runners}, {}


class Sleeps:
    """The client's sleep, recorded instead of waited (retries and rate limits are tested on what it asked for)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
