"""Shared set-up for the front-door tests: an App key, a local GitHub API stand-in, settings, and a running bot."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.runtime.app import Runtime, start_runtime
from bot.settings import Settings, load_settings
from tests.bot.github_api import FakeGitHubAPI
from tests.fakes.engine import FakeEngine
from tests.paths import WEBHOOK_PAYLOADS
from tests.support import postgres
from tests.support import settings as support_settings
from tests.support.keys import rsa_key
from tests.support.settings import write_example_settings

FIXTURES = WEBHOOK_PAYLOADS
WEBHOOK_SECRET = "whsec-It's a Secret to Everybody"


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    return rsa_key().private_pem


@pytest.fixture
def secret_env(tmp_path: Path) -> dict[str, str]:
    return support_settings.secret_env(tmp_path, webhook_secret=WEBHOOK_SECRET)


def fixture_repositories() -> list[str]:
    names = set()
    for path in FIXTURES.glob("*/*.json"):
        repository = json.loads(path.read_text()).get("repository")
        if repository:
            names.add(repository["full_name"])
    return sorted(names)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for tests that drive the bot's HTTP clients directly."""
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def github_api() -> AsyncIterator[FakeGitHubAPI]:
    api = FakeGitHubAPI()
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
def settings(tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI) -> Settings:
    return load_settings(str(settings_file(tmp_path)), {**secret_env, "GITHUB_API_URL": github_api.url})


def settings_file(tmp_path: Path) -> Path:
    """The example settings with every repository of the captured payloads, the store under `tmp_path`."""
    return write_example_settings(
        tmp_path, database=tmp_path / "state" / "bot.db", extra_repositories=fixture_repositories()
    )


@dataclass
class Bot:
    runtime: Runtime
    engine: FakeEngine
    session: aiohttp.ClientSession
    github_api: FakeGitHubAPI

    def command_requests(self) -> list[str]:
        """`METHOD path` of every request the command handling sent (the runner poller's and the redelivery sweep's
        are left out)."""
        poller = ("/installation", "/access_tokens", "/actions/runners", "/app/hook/deliveries")
        return [f"{r.method} {r.path}" for r in self.github_api.requests if not r.path.endswith(poller)]

    async def deliver(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery_id: str | None = None,
        secret: str | None = WEBHOOK_SECRET,
        signature: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "Content-Type": "application/json",
        }
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        elif secret is not None:
            headers["X-Hub-Signature-256"] = sign(secret, body)
        async with self.session.post(self.runtime.url + "/webhooks", data=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def settle(self) -> None:
        """Wait (bounded) until every accepted delivery has been processed."""
        assert await self.runtime.ingress.drain(10), "deliveries still being processed after 10 s"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


#: What the dry-run reply appends in these tests: the real doctor would reach for the example settings' hosts
#: (tests/e2e/test_doctor.py runs it against the lab).
DOCTOR_SUMMARY = "\n**Installation check** — doctor: 18 ok."


async def doctor_summary(repository: str) -> str:
    return DOCTOR_SUMMARY


@contextlib.asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[tuple[Runtime, FakeEngine, aiohttp.ClientSession]]:
    """The real runtime on 127.0.0.1 (a free port) with the fake engine, and a session to talk to it; stopped after."""
    engine = FakeEngine()

    async def engine_factory(_: object) -> FakeEngine:
        return engine

    runtime = await start_runtime(
        settings, host="127.0.0.1", port=0, engine_factory=engine_factory, dry_run_doctor=doctor_summary
    )
    try:
        async with aiohttp.ClientSession() as session:
            yield runtime, engine, session
    finally:
        await runtime.stop()
    assert engine.stopped


@pytest.fixture
async def bot(settings: Settings, github_api: FakeGitHubAPI) -> AsyncIterator[Bot]:
    async with running_bot(settings) as (runtime, engine, session):
        yield Bot(runtime, engine, session, github_api)


@pytest.fixture
async def postgres_settings(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI
) -> AsyncIterator[Settings]:
    """issue 16 §1: `settings` with DATABASE_URL set to a fresh PostgreSQL database (`database` stays, unused)."""
    async with postgres.fresh_database() as url:
        env = {**secret_env, "GITHUB_API_URL": github_api.url, "DATABASE_URL": url}
        yield load_settings(str(settings_file(tmp_path)), env)
