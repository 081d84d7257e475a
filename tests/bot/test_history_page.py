"""Issue 15 §2 through the bot's front door: `GET /verifications` (HTML with a trend chart per measurement) and
`GET /verifications.json`, only with `server.public_url`, and only to the holder of the history token unless
`server.history_public` opens them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aiohttp

from bot.details import SECURITY_HEADERS
from bot.settings import Settings, load_settings
from bot.texts import history as texts
from tests.bot.conftest import running_bot
from tests.bot.github_api import FakeGitHubAPI
from tests.support.history import FAILOVER, failover_run, record
from tests.support.settings import write_example_settings

PUBLIC_URL = "https://verify-staging.example.test"
TOKEN = "history-token-for-tests"


def settings_with(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI, *, server: dict[str, Any], token: bool
) -> Settings:
    path = write_example_settings(tmp_path, database=tmp_path / "bot.db", server=server)
    env = {**secret_env, "GITHUB_API_URL": github_api.url}
    if token:
        env["VERIFY_STAGING_HISTORY_TOKEN"] = TOKEN
    return load_settings(str(path), env)


async def get(session: aiohttp.ClientSession, url: str, *, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.get(url, headers=headers) as response:
        if response.status == 200:
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value
        return response.status, await response.text()


async def test_history_json_and_page_show_verdicts_and_trends(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI
) -> None:
    settings = settings_with(tmp_path, secret_env, github_api, server={"public_url": PUBLIC_URL}, token=True)
    async with running_bot(settings) as (runtime, _, session):
        hostile = failover_run(3, 12.0, ref="<script>alert(1)</script>")
        await record(runtime.store, failover_run(1, 4.0), failover_run(2, 30.0, passed=False), hostile)

        assert (await get(session, runtime.url + "/verifications.json"))[0] == 401
        assert (await get(session, runtime.url + "/verifications", token="wrong"))[0] == 401
        status, text = await get(session, runtime.url + "/verifications.json", token=TOKEN)
        assert status == 200
        [staging] = json.loads(text)["environments"]
        assert staging["environment"] == "staging"
        assert [(v["verification_id"], v["conclusion"]) for v in staging["verifications"]] == [
            ("vs-h003", "success"),
            ("vs-h002", "failure"),
            ("vs-h001", "success"),
        ]
        assert staging["verifications"][0]["details_url"] == f"{PUBLIC_URL}/verifications/vs-h003"
        [failover] = [t for t in staging["trends"] if t["measurement"] == FAILOVER]
        assert [(p["value"], p["passed"]) for p in failover["points"]] == [(4.0, True), (30.0, False), (12.0, True)]

        status, page = await get(session, runtime.url + "/verifications", token=TOKEN)
        assert status == 200
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert f'href="{PUBLIC_URL}/verifications/vs-h002"' in page
        charts = ["<svg" + chunk.split("</svg>")[0] + "</svg>" for chunk in page.split("<svg")[1:]]
        assert len(charts) == 2  # failover_latency_s and queue_s, each a well-formed SVG line chart
        for chart in charts:
            svg = ET.fromstring(chart)  # noqa: S314 (the bot's own picture; expat fetches no DTD)
            assert svg.find("{http://www.w3.org/2000/svg}polyline") is not None


async def test_history_is_absent_without_public_url_or_access(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI
) -> None:
    closed = settings_with(tmp_path / "a", secret_env, github_api, server={}, token=True)
    async with running_bot(closed) as (runtime, _, session):
        assert (await get(session, runtime.url + "/verifications.json", token=TOKEN))[0] == 404
    no_token = settings_with(tmp_path / "b", secret_env, github_api, server={"public_url": PUBLIC_URL}, token=False)
    async with running_bot(no_token) as (runtime, _, session):
        assert (await get(session, runtime.url + "/verifications"))[0] == 404
    public = {"public_url": PUBLIC_URL, "history_public": True}
    opened = settings_with(tmp_path / "c", secret_env, github_api, server=public, token=False)
    async with running_bot(opened) as (runtime, _, session):
        status, text = await get(session, runtime.url + "/verifications.json")
        assert status == 200 and json.loads(text) == {
            "environments": [{"environment": "staging", "verifications": [], "trends": []}]
        }
        status, page = await get(session, runtime.url + "/verifications")
        assert status == 200 and texts.PAGE_NONE in page
