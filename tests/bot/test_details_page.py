"""The details page through the bot's front door: `GET /verifications/{id}` and its timeline, served by the running
bot when `server.public_url` is set; escaped, without secrets or SSH addresses, and absent otherwise."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.details import SECURITY_HEADERS
from bot.model import JiraReport, ScenarioId, Verification
from bot.reporting.details_page import HIDDEN, PageLinks, details_url, render_details
from bot.reporting.timeline import timeline_svg
from bot.runtime.app import Runtime
from bot.settings import Settings, load_settings
from bot.texts import evidence as texts
from bot.texts import reports as report_texts
from handlers.context import new_verification_id
from tests.bot.conftest import running_bot
from tests.bot.github_api import FakeGitHubAPI
from tests.support.settings import write_example_settings
from tests.support.verifications import finished_with_evidence

PUBLIC_URL = "https://verify-staging.example.test"
VERIFICATION_ID = "vs-" + "5" * 24
RUN_URL = "https://github.com/paws360/paws360/actions/runs/9040"


@dataclass
class Served:
    runtime: Runtime
    session: aiohttp.ClientSession
    settings: Settings

    async def get(self, path: str) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
        async with self.session.get(self.runtime.url + path) as response:
            return response.status, await response.text(), response.headers


def settings_with(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI, *, public_url: str | None
) -> Settings:
    server = {"public_url": public_url + "/"} if public_url else {}
    path = write_example_settings(tmp_path, database=tmp_path / "bot.db", server=server)
    return load_settings(str(path), {**secret_env, "GITHUB_API_URL": github_api.url})


async def serve(settings: Settings) -> AsyncIterator[Served]:
    async with running_bot(settings) as (runtime, _, session):
        yield Served(runtime, session, settings)


@pytest.fixture
async def served(tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI) -> AsyncIterator[Served]:
    async for s in serve(settings_with(tmp_path, secret_env, github_api, public_url=PUBLIC_URL)):
        yield s


def hostile_verification(settings: Settings) -> Verification:
    """A finished verification whose texts carry markup, the SSH addresses of the hosts and the webhook secret."""
    v = finished_with_evidence(verification_id=VERIFICATION_ID)
    addresses = [f"{h.address}:{h.port}" for h in settings.ssh.hosts.values()]
    failover = v.scenario(ScenarioId.FAILOVER)
    failover.reason = f"<script>alert(1)</script> ssh to {addresses[0]} failed"
    failover.runs[0].html_url = RUN_URL
    failover.runs[0].jobs[0].name = f"<b>deploy</b> via {addresses[1]}"
    rollback = v.scenario(ScenarioId.ROLLBACK)
    rollback.runs[0].jobs[1].name = f"health & {settings.secrets.webhook_secret}"  # drawn in the timeline
    rollback.criteria[0].observed = [settings.secrets.webhook_secret]
    v.scenario(ScenarioId.MONITORING).criteria[0].observed = {"host": list(settings.ssh.hosts.values())[2].address}
    v.restorations[0].host = "production-runner-01"
    v.restorations[0].fault = f"systemctl stop runner  # on {addresses[0]}"
    return v


async def test_the_page_shows_verdict_criteria_timeline_faults_and_links(served: Served) -> None:
    v = hostile_verification(served.settings)
    await served.runtime.store.save_verification(v)

    status, body, headers = await served.get(f"/verifications/{VERIFICATION_ID}")

    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value
    assert report_texts.VERIFICATION_HEADLINE[v.conclusion] in body
    for s in v.scenarios:
        assert f"{s.title}: {report_texts.SCENARIO_VERDICT[s.conclusion]}" in body
        for c in s.criteria:
            assert f"<td>{c.id}</td>" in body
    assert re.search(r"<figure [^>]*><svg[^>]*>", body) and "<?xml" not in body
    assert 'id="job-70040"' in body and 'id="fault-0"' in body  # the timeline, inline
    assert f'<a href="{RUN_URL}">9040</a>' in body
    assert f"{texts.DETAILS_MEASUREMENTS}deployment_duration_s 9.0 s, failover_latency_s 1.0 s, queue_s 1.0 s" in body
    assert f'<a href="{VERIFICATION_ID}/timeline.svg">{texts.DETAILS_TIMELINE_LINK}</a>' in body
    assert "<td>production-runner-01</td>" in body and "<td>app-1</td>" in body


async def test_the_page_escapes_markup_and_shows_no_address_or_secret(served: Served) -> None:
    settings = served.settings
    await served.runtime.store.save_verification(hostile_verification(settings))

    _, page, _ = await served.get(f"/verifications/{VERIFICATION_ID}")
    _, svg, _ = await served.get(f"/verifications/{VERIFICATION_ID}/timeline.svg")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert "&lt;b&gt;deploy&lt;/b&gt;" in page and "<b>" not in page
    for document in (page, svg):
        for host in settings.ssh.hosts.values():
            assert host.address not in document
        assert settings.secrets.webhook_secret not in document
        assert all(line not in document for line in settings.secrets.private_key.splitlines()[1:-1])
    assert f"ssh to {HIDDEN} failed" in page
    assert "production-runner-01" in page  # host names stay


async def test_the_timeline_route_serves_the_svg(served: Served) -> None:
    await served.runtime.store.save_verification(finished_with_evidence(verification_id=VERIFICATION_ID))
    status, svg, headers = await served.get(f"/verifications/{VERIFICATION_ID}/timeline.svg")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert headers["X-Content-Type-Options"] == "nosniff"
    tree = ET.fromstring(svg)  # noqa: S314 (the bot's own picture; expat fetches no DTD)
    assert {"deadline-failover", "alert-fired"} <= {e.get("id") for e in tree.iter()}


async def test_a_running_verification_has_its_page_too(served: Served) -> None:
    v = finished_with_evidence(verification_id=VERIFICATION_ID)
    v.conclusion, v.completed_at = None, None
    await served.runtime.store.save_verification(v)
    status, body, _ = await served.get(f"/verifications/{VERIFICATION_ID}")
    assert status == 200
    assert report_texts.VERIFICATION_HEADLINE[None] in body and texts.DETAILS_NOT_FINISHED in body


@pytest.mark.parametrize("path", ["/verifications/vs-unknown", "/verifications/vs-unknown/timeline.svg",
                                  "/verifications/..%2F..%2Fetc", "/verifications/" + "a" * 65])  # fmt: skip
async def test_unknown_ids_are_404(served: Served, path: str) -> None:
    await served.runtime.store.save_verification(finished_with_evidence(verification_id=VERIFICATION_ID))
    status, body, headers = await served.get(path)
    assert status == 404
    if "timeline" not in path and "%2F" not in path:
        assert texts.DETAILS_NOT_FOUND in body and headers["X-Content-Type-Options"] == "nosniff"


async def test_without_public_url_there_is_no_details_page(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI
) -> None:
    settings = settings_with(tmp_path, secret_env, github_api, public_url=None)
    assert settings.server.public_url is None
    async for s in serve(settings):
        await s.runtime.store.save_verification(finished_with_evidence(verification_id=VERIFICATION_ID))
        for path in (f"/verifications/{VERIFICATION_ID}", f"/verifications/{VERIFICATION_ID}/timeline.svg"):
            status, body, _ = await s.get(path)
            assert status == 404 and texts.DETAILS_NOT_FOUND not in body


def test_public_url_is_read_without_its_trailing_slash(
    tmp_path: Path, secret_env: dict[str, str], github_api: FakeGitHubAPI
) -> None:
    settings = settings_with(tmp_path, secret_env, github_api, public_url=PUBLIC_URL)
    assert settings.server.public_url == PUBLIC_URL
    assert details_url(PUBLIC_URL, VERIFICATION_ID) == f"{PUBLIC_URL}/verifications/{VERIFICATION_ID}"


def test_render_links_jira_and_never_a_javascript_address() -> None:
    v = finished_with_evidence()
    v.jira = JiraReport(issue="INFRA-473")
    v.scenarios[0].runs[0].html_url = "javascript:alert(1)"
    page = render_details(
        v,
        svg=timeline_svg(v),
        links=PageLinks(github_web="https://github.com", jira_url="https://jira.example.test/"),
    )
    assert '<a href="https://jira.example.test/browse/INFRA-473">JIRA INFRA-473</a>' in page
    assert '<a href="https://github.com/paws360/paws360/pull/42">Pull request #42</a>' in page
    assert "javascript:" not in page


def test_verification_ids_are_unguessable() -> None:
    made = {new_verification_id() for _ in range(1000)}
    assert len(made) == 1000
    # 24 hex digits: 96 random bits, out of reach of guessing a details page's address.
    assert all(re.fullmatch(r"vs-[0-9a-f]{24}", i) for i in made)
