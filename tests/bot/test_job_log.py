"""A job's log as GitHub serves it: read through the 302 without handing the token to the log host, and parsed for
the runner's name and its `##[error]` lines."""

from __future__ import annotations

import re

import aiohttp
import pytest

from bot.accounting import open_tally
from bot.github.client import GitHubAppClient, GitHubRepoClient, RetryPolicy
from bot.github.job_log import JobLog
from bot.ports import GitHubError
from tests.bot.github_api import INSTALLATION_TOKEN, REPOSITORY, Answer, Captured, FakeGitHubAPI, Sleeps

# As a self-hosted runner writes it (actions/runner prints the runner's name in "Set up job").
LOG = (
    "\ufeff2026-11-27T10:00:01.1234567Z Current runner version: '2.321.0'\n"
    "2026-11-27T10:00:01.1234567Z Runner name: 'production-runner-01'\n"
    "2026-11-27T10:00:01.1234567Z Runner group name: 'Default'\n"
    "2026-11-27T10:00:01.1234567Z Machine name: 'prod-01'\n"
    "2026-11-27T10:00:02.0000000Z ##[group]Run ./deploy.sh\n"
    "2026-11-27T10:00:02.0000000Z ./deploy.sh\n"
    "2026-11-27T10:00:02.0000000Z ##[endgroup]\n"
    "2026-11-27T10:00:03.5000000Z Runner name: 'someone-else' (printed by the step, not the runner)\n"
    "2026-11-27T10:00:03.5000000Z echo '##[error] is how errors look'\n"
    "2026-11-27T10:00:04.0000000Z ##[error]Could not sync the [assets](https://evil.example)\r\n"
    "2026-11-27T10:00:04.1000000Z ##[error]Process completed with exit code 1.\n"
    "2026-11-27T10:00:04.2000000Z Cleaning up orphan processes\n"
)


def test_parse_finds_the_runner_of_set_up_job_and_every_error_line() -> None:
    log = JobLog.parse(LOG)
    assert log.runner_name == "production-runner-01"
    assert log.errors == (
        "##[error]Could not sync the [assets](https://evil.example)",
        "##[error]Process completed with exit code 1.",
    )


def test_parse_of_a_clean_log_and_of_one_without_set_up_job() -> None:
    clean = "".join(line + "\n" for line in LOG.splitlines() if "##[error]" not in line)
    assert JobLog.parse(clean).errors == ()
    assert JobLog.parse("2026-11-27T10:00:02.0000000Z hello\n") == JobLog(None, ())


def repo(session: aiohttp.ClientSession, api: FakeGitHubAPI, key: str) -> GitHubRepoClient:
    client = GitHubAppClient(
        session, app_id="4242", private_key=key, api_url=api.url, policy=RetryPolicy(attempts=3), sleeper=Sleeps()
    )
    return client.repo(installation_id=1001, repository=REPOSITORY)


def serve_log(api: FakeGitHubAPI, *, log_answers: list[Answer]) -> None:
    """The logs endpoint answers 302 to a signed URL on the same host (the strictest case: aiohttp would keep the
    token on a same-origin redirect); the signed URL answers `log_answers` in turn, the last one for ever."""

    def redirect(c: Captured, m: re.Match[str]) -> Answer:
        return 302, None, {"Location": f"{api.url}/_signed/{m.group(1)}?expires=1764237600&sig=abc%2Bdef%3D"}

    def signed(c: Captured, m: re.Match[str]) -> Answer:
        return log_answers.pop(0) if len(log_answers) > 1 else log_answers[0]

    api.on("GET", r"/repos/[^/]+/[^/]+/actions/jobs/(\d+)/logs", redirect)
    api.on("GET", r"/_signed/(\d+)", signed)


async def test_job_log_follows_the_302_without_the_token(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    serve_log(github_api, log_answers=[(200, LOG, {})])
    tally = open_tally()
    text = await repo(session, github_api, private_key_pem).job_log(40000000007)
    assert text == LOG
    [asked] = github_api.sent("GET", r".*/actions/jobs/40000000007/logs")
    assert asked.headers["authorization"] == f"token {INSTALLATION_TOKEN}"
    [fetched] = github_api.sent("GET", r"/_signed/40000000007")
    assert "authorization" not in fetched.headers
    assert fetched.query == {"expires": "1764237600", "sig": "abc+def="}  # the signature arrives as it was signed
    assert tally.count == 2  # the REST calls (token, logs endpoint); the download is not a GitHub API call


async def test_job_log_retries_a_5xx_of_the_log_host_and_refuses_an_expired_url(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    serve_log(github_api, log_answers=[(503, {"message": "busy"}, {}), (200, LOG, {})])
    assert await repo(session, github_api, private_key_pem).job_log(1) == LOG
    assert len(github_api.sent("GET", r"/_signed/1")) == 2

    serve_log(github_api, log_answers=[(403, {"message": "Signature expired"}, {})])
    with pytest.raises(GitHubError) as refused:
        await repo(session, github_api, private_key_pem).job_log(2)
    assert refused.value.status == 403


async def test_a_job_without_a_log_is_an_error_with_its_status(
    session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    with pytest.raises(GitHubError) as missing:
        await repo(session, github_api, private_key_pem).job_log(5)
    assert missing.value.status == 404
    assert "job 5" in str(missing.value)
