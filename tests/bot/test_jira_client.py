"""The JIRA adapter against a small local server speaking Jira REST v2, as a real JIRA answers it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.adapters.jira import JiraClient
from bot.ports import JiraError, JiraTransition
from bot.reporting import transition_to
from tests.support.ports import closed_port


class JiraStandIn:
    def __init__(self) -> None:
        self.status = "To Do"
        self.requests: list[tuple[str, str, Any, str | None]] = []
        self.comments: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rest/api/2/issue/{key}", self.issue)
        app.router.add_get("/rest/api/2/issue/{key}/transitions", self.transitions)
        app.router.add_post("/rest/api/2/issue/{key}/transitions", self.transition)
        app.router.add_post("/rest/api/2/issue/{key}/comment", self.comment)
        return app

    async def _note(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body, request.headers.get("Authorization")))
        return body

    async def issue(self, request: web.Request) -> web.Response:
        await self._note(request)
        if request.match_info["key"] != "INFRA-473":
            return web.json_response({"errorMessages": ["Issue Does Not Exist"], "errors": {}}, status=404)
        return web.json_response({"key": "INFRA-473", "fields": {"status": {"name": self.status}}})

    async def transitions(self, request: web.Request) -> web.Response:
        await self._note(request)
        return web.json_response(
            {
                "transitions": [
                    {"id": "21", "name": "Start Progress", "to": {"name": "In Progress"}},
                    {"id": "31", "name": "Done", "to": {"name": "Done"}},
                ]
            }
        )

    async def transition(self, request: web.Request) -> web.Response:
        body = await self._note(request)
        self.status = {"21": "In Progress", "31": "Done"}[str(body["transition"]["id"])]
        return web.Response(status=204)

    async def comment(self, request: web.Request) -> web.Response:
        body = await self._note(request)
        self.comments.append(body["body"])
        return web.json_response({"id": str(10000 + len(self.comments)), "body": body["body"]}, status=201)


@pytest.fixture
async def stand_in() -> Any:
    jira = JiraStandIn()
    server = TestServer(jira.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield jira, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_status_transitions_and_comments_go_over_rest_v2(stand_in: tuple[JiraStandIn, str]) -> None:
    jira, url = stand_in
    client = JiraClient(url=url, token="pat-123")

    assert await client.status("INFRA-473") == "To Do"
    assert await client.transitions("INFRA-473") == [
        JiraTransition("21", "Start Progress", "In Progress"),
        JiraTransition("31", "Done", "Done"),
    ]
    assert await transition_to(client, "INFRA-473", "In Progress") is True
    assert await client.add_comment("INFRA-473", "||Test||Result||\n|1|PASS|") == "10001"

    assert jira.status == "In Progress"
    assert jira.comments == ["||Test||Result||\n|1|PASS|"]
    posted = [r for r in jira.requests if r[0] == "POST"]
    assert posted[0][1] == "/rest/api/2/issue/INFRA-473/transitions"
    assert str(posted[0][2]["transition"]["id"]) == "21"
    assert {r[3] for r in jira.requests} == {"Bearer pat-123"}


async def test_basic_auth_is_used_without_a_token(stand_in: tuple[JiraStandIn, str]) -> None:
    jira, url = stand_in
    await JiraClient(url=url, user="bot", password="pw").status("INFRA-473")
    assert jira.requests[-1][3] is not None and jira.requests[-1][3].startswith("Basic ")


async def test_http_errors_become_jira_errors(stand_in: tuple[JiraStandIn, str]) -> None:
    _, url = stand_in
    with pytest.raises(JiraError, match="JIRA could not read issue NOPE-1: HTTP 404"):
        await JiraClient(url=url, token="pat-123").status("NOPE-1")


async def test_an_unreachable_jira_is_a_jira_error_that_names_it() -> None:
    port = closed_port()
    client = JiraClient(url=f"http://127.0.0.1:{port}", token="pat-123", timeout=2)
    with pytest.raises(JiraError) as caught:
        await client.add_comment("INFRA-473", "hello")
    assert f"JIRA at http://127.0.0.1:{port} could not be reached to comment on INFRA-473" in str(caught.value)
    assert "pat-123" not in str(caught.value)
