"""The GitHub App client against a local API stand-in: auth, token cache, retries, dispatch, pagination, counting."""

from __future__ import annotations

import time

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.accounting import open_tally
from bot.github.client import GitHubAppClient, RetryPolicy
from bot.permissions import Permission, has_at_least
from bot.ports import GitHubError
from tests.bot.github_api import INSTALLATION_TOKEN, REPOSITORY, Captured, FakeGitHubAPI, Sleeps


def app(session: aiohttp.ClientSession, api: FakeGitHubAPI, key: str, sleeps: Sleeps) -> GitHubAppClient:
    return GitHubAppClient(
        session,
        app_id="4242",
        private_key=key,
        api_url=api.url,
        api_version="2022-11-28",
        policy=RetryPolicy(attempts=4, backoff=0.5, max_wait=30),
        sleeper=sleeps,
    )


async def test_jwt_and_installation_token_are_cached(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    client = app(session, github_api, private_key_pem, Sleeps())
    repo = client.repo(installation_id=1001, repository=REPOSITORY)
    tally = open_tally()
    assert await repo.get_permission("alice-admin") == "admin"
    assert await repo.get_permission("nobody") == "none"
    [token_request] = github_api.sent("POST", r"/app/installations/1001/access_tokens")
    scheme, bearer = token_request.headers["authorization"].split(" ", 1)
    assert scheme.lower() == "bearer"
    public = serialization.load_pem_private_key(private_key_pem.encode(), None).public_key()
    claims = jwt.decode(bearer, public, algorithms=["RS256"])  # type: ignore[arg-type]
    now = time.time()
    assert claims["iss"] == "4242"
    assert now - 62 <= claims["iat"] <= now - 58
    assert claims["exp"] - claims["iat"] == 600 and claims["exp"] <= now + 600
    for captured in github_api.sent("GET", r".*/permission"):
        assert captured.headers["authorization"] == f"token {INSTALLATION_TOKEN}"
        assert captured.headers["x-github-api-version"] == "2022-11-28"
    # Counted as GitHub saw them: one token exchange, two permission look-ups.
    assert tally.count == len(github_api.requests) == 3


async def test_retries_5xx_and_rate_limits_honouring_retry_after(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    answers = [
        (502, {"message": "Bad Gateway"}, {}),
        (403, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "7"}),
        (429, {"message": "Too many"}, {"Retry-After": "9999"}),
    ]

    def flaky(c: Captured, m: object) -> tuple[int, object, dict[str, str]]:
        if answers:
            return answers.pop(0)
        return 200, {"total_count": 0, "runners": []}, {}

    github_api.on("GET", r"/repos/[^/]+/[^/]+/actions/runners", flaky)
    sleeps = Sleeps()
    repo = app(session, github_api, private_key_pem, sleeps).repo(installation_id=1001, repository=REPOSITORY)
    tally = open_tally()
    assert await repo.list_runners() == []
    assert sleeps.waits == [0.5, 7.0, 30.0]  # backoff, Retry-After, Retry-After capped
    assert tally.count == len(github_api.sent("GET", r".*/actions/runners")) + 1 == 5  # and the token exchange


async def test_gives_up_after_bounded_attempts_and_not_on_plain_403(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    github_api.on("GET", r".*/pulls/\d+", lambda c, m: (503, {"message": "down"}, {}))
    github_api.on("GET", r".*/actions/runs/\d+", lambda c, m: (403, {"message": "Resource not accessible"}, {}))
    sleeps = Sleeps()
    repo = app(session, github_api, private_key_pem, sleeps).repo(installation_id=1001, repository=REPOSITORY)
    tally = open_tally()
    with pytest.raises(GitHubError) as down:
        await repo.get_pull_request(42)
    assert down.value.status == 503 and len(github_api.sent("GET", r".*/pulls/42")) == 4
    with pytest.raises(GitHubError) as refused:
        await repo.get_run(7)
    assert refused.value.status == 403 and len(github_api.sent("GET", r".*/actions/runs/7")) == 1
    assert tally.count == len(github_api.requests) == 6  # with the one token exchange
    assert len(sleeps.waits) == 3


@pytest.mark.parametrize(
    ("answers", "expected", "bodies"),
    [
        ([(200, {"workflow_run_id": 77, "run_url": "u", "html_url": "h"}, {})], 77, [True]),
        ([(204, None, {})], None, [True]),
        (
            [(422, {"message": "Invalid request: return_run_details is not allowed"}, {}), (204, None, {})],
            None,
            [True, False],
        ),
    ],
)
async def test_dispatch_asks_for_run_details_and_falls_back(
    session: aiohttp.ClientSession,
    github_api: FakeGitHubAPI,
    private_key_pem: str,
    answers: list[tuple[int, object, dict[str, str]]],
    expected: int | None,
    bodies: list[bool],
) -> None:
    github_api.on("POST", r".*/actions/workflows/ci.yml/dispatches", lambda c, m: answers.pop(0))
    repo = app(session, github_api, private_key_pem, Sleeps()).repo(installation_id=1001, repository=REPOSITORY)
    assert await repo.dispatch_workflow(workflow="ci.yml", ref="main", inputs={"test_id": "t1"}) == expected
    sent = github_api.sent("POST", r".*/dispatches")
    assert ["return_run_details" in s.body for s in sent] == bodies
    assert all(s.body["inputs"] == {"test_id": "t1"} and s.body["ref"] == "main" for s in sent)


async def test_pagination_follows_link_headers(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    def page(c: Captured, m: object) -> tuple[int, object, dict[str, str]]:
        number = int(c.query.get("page", "1"))
        jobs = [{"id": number * 10 + i, "run_id": 5, "name": f"job{number}-{i}"} for i in range(2)]
        headers = {}
        if number < 3:
            headers["Link"] = f'<{github_api.url}/repos/{REPOSITORY}/actions/runs/5/jobs?page={number + 1}>; rel="next"'
        return 200, {"total_count": 6, "jobs": jobs}, headers

    github_api.on("GET", r".*/actions/runs/5/jobs", page)
    repo = app(session, github_api, private_key_pem, Sleeps()).repo(installation_id=1001, repository=REPOSITORY)
    tally = open_tally()
    jobs = await repo.list_jobs(5)
    assert [j.id for j in jobs] == [10, 11, 20, 21, 30, 31]
    assert len(github_api.sent("GET", r".*/jobs")) == 3
    assert tally.count == 4  # with the token exchange
    assert github_api.sent("GET", r".*/jobs")[0].query["per_page"] == "100"


async def test_the_role_name_tells_a_maintainer_from_a_writer_and_a_triager_from_a_reader(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    # GitHub's legacy `permission` says write for maintain and read for triage; only `role_name` tells them apart.
    github_api.permissions.update({"mira-maintainer": "maintain", "tariq-triager": "triage"})
    repo = app(session, github_api, private_key_pem, Sleeps()).repo(installation_id=1001, repository=REPOSITORY)
    maintainer, triager = await repo.get_permission("mira-maintainer"), await repo.get_permission("tariq-triager")
    assert (maintainer, triager) == ("maintain", "triage")
    assert has_at_least(maintainer, Permission.MAINTAIN) and not has_at_least(triager, Permission.WRITE)
