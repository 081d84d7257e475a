"""Shared set-up for the simulated GitHub's tests: an App key pair, a webhook sink, short lab timings, and a
running simulated GitHub with an App installation token."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession, web

from lab.github.config import Permission, PullSpec, RunnerSpec, SimConfig, Timing, UserSpec
from lab.github.server import RunningGitHub, start_github
from lab.truth import Truth
from tests.support.keys import rsa_key
from tests.support.wait import wait_until

REPO = "paws360/paws360"
APP_ID = 4242
INSTALLATION = 1001
SECRET = "webhook-secret-for-tests"
PR_SHA = "a" * 40
PERMISSIONS = {
    "actions": "write",
    "administration": "read",
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "members": "read",
    "pull_requests": "write",
}
FAST = Timing(
    acquire_timeout=1.0,
    queue_timeout=60.0,
    heartbeat_timeout=1.5,
    long_poll=0.5,
    heartbeat_interval=0.3,
    tick=0.05,
)


def sleep_job(runs_on: Any, seconds: float = 0.3, **extra: Any) -> dict[str, Any]:
    return {
        "runs-on": runs_on,
        "steps": [{"name": "work", "uses": "lab.github.steps:sleep", "with": {"seconds": str(seconds)}}],
        **extra,
    }


def workflow(jobs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    inputs = {"environment": {"required": True}, "test_id": {"default": "none"}}
    return {
        "name": "Deploy",
        "run-name": "Deploy ${{ inputs.environment }} ${{ inputs.test_id }}",
        "on": {"workflow_dispatch": {"inputs": inputs}},
        "jobs": jobs,
        **extra,
    }


@dataclass
class Keys:
    private_pem: str
    public_pem: str

    def jwt(self, *, iat_offset: int = -60, lifetime: int = 540, iss: object = str(APP_ID)) -> str:
        now = int(time.time())
        claims = {"iat": now + iat_offset, "exp": now + iat_offset + 60 + lifetime, "iss": iss}
        return jwt.encode(claims, self.private_pem, algorithm="RS256")


@pytest.fixture(scope="session")
def keys() -> Keys:
    key = rsa_key()
    return Keys(key.private_pem, key.public_pem)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> str:
        return self.headers["X-GitHub-Event"]

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class Sink:
    """A webhook receiver on 127.0.0.1 that keeps every delivery."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 202

    def of(self, event: str, action: str | None = None) -> list[Received]:
        return [r for r in self.received if r.event == event and (action is None or r.payload["action"] == action)]


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    found = Sink()

    async def handle(request: web.Request) -> web.Response:
        found.received.append(Received(dict(request.headers), await request.read()))
        return web.Response(status=found.status)

    app = web.Application()
    app.router.add_post("/webhooks", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}/webhooks"
    try:
        yield found
    finally:
        await runner.cleanup()


def make_config(tmp_path: Path, keys: Keys, sink_url: str | None, **overrides: Any) -> SimConfig:
    config = SimConfig(
        workdir=tmp_path / "github",
        truth=Truth(tmp_path / "lab-truth.jsonl"),
        app_id=APP_ID,
        app_slug="verify-staging",
        app_public_key_pem=keys.public_pem,
        installation_id=INSTALLATION,
        webhook_secret=SECRET,
        repository=REPO,
        app_permissions=dict(PERMISSIONS),
        users=(
            UserSpec("alice-admin", Permission.ADMIN, token="pat-alice"),
            UserSpec("bob-reader", Permission.READ, token="pat-bob"),
            UserSpec("sam-sre", Permission.ADMIN, token="pat-sam"),
        ),
        teams={"paws360/sre": ("sam-sre",)},
        pull_requests=(PullSpec(42, "INFRA-473: GitHub runner deployment (US1)", "001-github-runner-deploy", PR_SHA),),
        files={"README.md": "hello\n"},
        workflows={".github/workflows/ci.yml": workflow({"only": sleep_job("ubuntu-latest")})},
        runners=(
            RunnerSpec("production-runner-01", ("self-hosted", "production", "primary"), "tok-01"),
            RunnerSpec("production-runner-02", ("self-hosted", "production", "secondary"), "tok-02"),
        ),
        webhook_url=sink_url,
        timing=FAST,
    )
    return replace(config, **overrides)


@dataclass
class Lab:
    github: RunningGitHub
    http: ClientSession
    token: str
    sink: Sink

    @property
    def truth(self) -> Truth:
        return self.github.config.truth

    def api(self, path: str) -> str:
        return self.github.url + path

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"token {token or self.token}", "Accept": "application/vnd.github+json"}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        async with self.http.request(
            method, self.api(path), json=body, headers={**self.auth(token), **(headers or {})}
        ) as answer:
            raw = await answer.read()
            return answer.status, (json.loads(raw) if raw else None)

    async def dispatch(self, **inputs: str) -> int:
        status, body = await self.call(
            "POST",
            f"/repos/{REPO}/actions/workflows/ci.yml/dispatches",
            {"ref": "001-github-runner-deploy", "inputs": inputs, "return_run_details": True},
        )
        assert status == 200, body
        return int(body["workflow_run_id"])

    async def run(self, run_id: int) -> dict[str, Any]:
        status, body = await self.call("GET", f"/repos/{REPO}/actions/runs/{run_id}")
        assert status == 200
        result: dict[str, Any] = body
        return result

    async def jobs(self, run_id: int) -> list[dict[str, Any]]:
        status, body = await self.call("GET", f"/repos/{REPO}/actions/runs/{run_id}/jobs")
        assert status == 200
        found: list[dict[str, Any]] = body["jobs"]
        return found

    async def wait_run(self, run_id: int, timeout: float = 20.0) -> dict[str, Any]:
        await wait_until(lambda: self.github.sim.actions.runs[run_id].status == "completed", timeout=timeout)
        return await self.run(run_id)


async def installation_token(http: ClientSession, url: str, keys: Keys) -> str:
    async with http.post(
        f"{url}/app/installations/{INSTALLATION}/access_tokens", headers={"Authorization": f"Bearer {keys.jwt()}"}
    ) as answer:
        assert answer.status == 201
        return str((await answer.json())["token"])


StartLab = Callable[..., Awaitable[Lab]]


@pytest.fixture
async def start_lab(tmp_path: Path, keys: Keys, sink: Sink) -> AsyncIterator[StartLab]:
    started: list[Lab] = []
    http = ClientSession()

    async def start(**overrides: Any) -> Lab:
        github = await start_github(make_config(tmp_path, keys, sink.url, **overrides))
        lab = Lab(github, http, await installation_token(http, github.url, keys), sink)
        started.append(lab)
        return lab

    try:
        yield start
    finally:
        try:
            for lab in started:
                await lab.github.stop()
        finally:
            await http.close()
