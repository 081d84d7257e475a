"""Jobs' logs as the simulated GitHub serves them: 302 to a signed, expiring URL that wants no credentials, and
the log in the shape of GitHub's runner (timestamps, "Set up job" with the runner's name, groups, `##[error]`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import aiohttp

from bot.github.job_log import JobLog
from lab.github.log_urls import LogSigner
from lab.github.runner_log import RunnerLog, stamp
from tests.lab.github.conftest import REPO, StartLab, workflow

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z ")


def test_runner_timestamps_have_seven_fractional_digits() -> None:
    assert stamp(datetime(2026, 11, 27, 10, 0, 1, 123456, tzinfo=UTC)) == "2026-11-27T10:00:01.1234560Z"
    log = RunnerLog()
    log.set_up_job(runner="production-runner-01", group="Default", machine="prod-01", job="deploy")
    log.error("boom")
    lines = log.take()
    assert all(LINE.match(line) for line in lines)
    assert JobLog.parse("\n".join(lines)) == JobLog("production-runner-01", ("##[error]boom",))
    assert log.take() == []


def test_signed_log_urls_expire_and_bind_the_job() -> None:
    signer = LogSigner()
    query = dict(part.split("=") for part in signer.query(7, now=1000).split("&"))
    assert signer.valid(7, query["expires"], query["sig"], now=1000 + signer.ttl)
    assert not signer.valid(7, query["expires"], query["sig"], now=1001 + signer.ttl)  # expired
    assert not signer.valid(8, query["expires"], query["sig"], now=1000)  # another job's log
    assert not signer.valid(7, str(int(query["expires"]) + 60), query["sig"], now=1000)  # a stretched expiry


async def test_job_log_is_a_302_to_a_signed_url_that_serves_the_runners_log(start_lab: StartLab) -> None:
    flow = workflow(
        {
            "select": {
                "runs-on": "ubuntu-latest",
                "steps": [{"uses": "lab.github.steps:echo", "with": {"message": "a"}}],
            },
            "deploy": {
                "runs-on": ["self-hosted", "production", "primary"],
                "needs": "select",
                "steps": [
                    {"name": "say", "uses": "lab.github.steps:echo", "with": {"message": "deploying"}},
                    {"name": "break", "uses": "lab.github.steps:fail", "with": {"message": "unhealthy"}},
                ],
            },
            "never": {"runs-on": "ubuntu-latest", "needs": "deploy", "steps": [{"uses": "lab.github.steps:sleep"}]},
        }
    )
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    await lab.github.spawn_hosted_pool()
    await lab.github.spawn_runner("production-runner-01")
    run_id = await lab.dispatch(environment="staging", test_id="t-1")
    await lab.wait_run(run_id)
    jobs = {j["name"]: j for j in await lab.jobs(run_id)}

    async def logs_endpoint(job_id: int) -> aiohttp.ClientResponse:
        path = f"/repos/{REPO}/actions/jobs/{job_id}/logs"
        async with lab.http.get(lab.api(path), headers=lab.auth(), allow_redirects=False) as answer:
            return answer

    answer = await logs_endpoint(jobs["deploy"]["id"])
    assert answer.status == 302
    location = answer.headers["Location"]
    assert re.fullmatch(rf"{re.escape(lab.github.url)}/_lab/logs/\d+\?expires=\d+&sig=[0-9a-f]{{64}}", location)

    async with lab.http.get(location) as served:
        assert (served.status, served.content_type) == (200, "text/plain")
        text = await served.text()
    assert text.startswith("\ufeff")
    lines = text.removeprefix("\ufeff").splitlines()
    assert all(LINE.match(line) for line in lines), lines
    shown = [LINE.sub("", line) for line in lines]
    for expected in (
        "Runner name: 'production-runner-01'",
        "Runner group name: 'Default'",
        "##[group]Run lab.github.steps:echo",
        "deploying",
        "##[endgroup]",
        "##[error]unhealthy",
    ):
        assert expected in shown, expected
    # The bot's reading of the log agrees with the REST API's job.
    assert JobLog.parse(text) == JobLog(jobs["deploy"]["runner_name"], ("##[error]unhealthy",))

    # A hosted job's log names the VM the service gave it, as its job does.
    answer = await logs_endpoint(jobs["select"]["id"])
    async with lab.http.get(answer.headers["Location"]) as served:
        assert JobLog.parse(await served.text()) == JobLog(jobs["select"]["runner_name"], ())

    # No credentials at the log host: a download carrying the token is refused (and recorded).
    async with lab.http.get(location, headers=lab.auth()) as refused:
        assert refused.status == 400
    async with lab.http.get(location.replace("sig=", "sig=0")) as forged:
        assert forged.status == 403
    async with lab.http.get(lab.api("/_lab/log-downloads")) as seen:
        downloads = await seen.json()
    assert [d["authorization"] for d in downloads] == [False, False, True, False]

    # A job no runner started has no log.
    assert jobs["never"]["conclusion"] == "skipped"
    assert (await logs_endpoint(jobs["never"]["id"])).status == 404
    async with lab.http.get(lab.api(f"/repos/{REPO}/actions/jobs/{jobs['deploy']['id']}/logs")) as anonymous:
        assert anonymous.status == 401
