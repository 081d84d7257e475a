"""The simulated GitHub holds requests to GitHub's published OpenAPI description (422 and a truth-log record for an
undocumented path, method, query parameter or body field), and its answers to the requests the App makes match the
description's response schemas."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.github.client import GitHubAppClient
from bot.ports import CheckRunAction, CheckRunConclusion, CheckRunOutput, CheckRunStatus, CheckRunUpdate, NewCheckRun
from lab.github.openapi import DescriptionMissing, load_description
from lab.github.strict import exempt
from tests.lab.github.conftest import APP_ID, PR_SHA, REPO, Keys, Lab, StartLab
from tests.support.openapi import response_schemas

UNDOCUMENTED = (
    # (method, path, body, the field or name GitHub's message quotes)
    ("GET", f"/repos/{REPO}/actions/flights", None, f"/repos/{REPO}/actions/flights"),
    ("DELETE", f"/repos/{REPO}/actions/runs", None, "DELETE"),
    ("GET", f"/repos/{REPO}/actions/runs?per_page=5&newest_first=1", None, '"newest_first"'),
    ("POST", f"/repos/{REPO}/issues/42/comments", {"body": "hi", "pinned": True}, '"pinned"'),
    ("POST", f"/repos/{REPO}/check-runs", {"name": "x", "head_sha": PR_SHA, "output": {"x": 1}}, "output.x"),
)


async def test_undocumented_requests_are_refused_with_422_and_recorded(start_lab: StartLab) -> None:
    lab = await start_lab()
    for method, path, body, quoted in UNDOCUMENTED:
        status, answer = await lab.call(method, path, body)
        assert status == 422, (method, path, answer)
        assert quoted in answer["message"], answer
        assert answer["documentation_url"].startswith("https://docs.github.com/")
    recorded = lab.truth.events("undocumented_request")
    assert [(e.fields["method"], e.fields["path"]) for e in recorded] == [
        (method, path.split("?")[0]) for method, path, _, _ in UNDOCUMENTED
    ]
    assert all(quoted in e.fields["problem"] for e, (*_, quoted) in zip(recorded, UNDOCUMENTED, strict=True))
    # Nothing undocumented reached a handler: no comment and no check run were created.
    status, comments = await lab.call("GET", f"/repos/{REPO}/issues/42/comments")
    assert (status, comments) == (200, [])


async def test_the_lab_s_private_endpoints_are_exempt(start_lab: StartLab) -> None:
    lab = await start_lab()
    async with lab.http.get(lab.api("/_lab/deliveries?payloads=1")) as answer:
        assert answer.status == 200
    assert exempt("/_lab/runner/sessions") and exempt("/_lab/logs/7") and exempt("/settings/apps/new")
    assert not exempt("/repos/o/r/actions/runs") and not exempt("/app")
    assert lab.truth.events("undocumented_request") == []


async def app_requests(lab: Lab, keys: Keys) -> None:
    """Every request the bot's GitHub client (bot/github/client.py) makes, through the client itself, so the query
    parameters and bodies are exactly the ones it sends."""
    status, _ = await lab.call("GET", "/app", headers={"Authorization": f"Bearer {keys.jwt()}"})
    assert status == 200
    app = GitHubAppClient(lab.http, app_id=str(APP_ID), private_key=keys.private_pem, api_url=lab.github.url)
    installation = await app.installation_for(REPO)
    repo = app.repo(installation_id=installation, repository=REPO)
    await lab.github.spawn_hosted_pool()
    run_id = await repo.dispatch_workflow(workflow="ci.yml", ref="main", inputs={"environment": "staging"})
    assert run_id is not None
    await lab.wait_run(run_id)
    assert (await repo.get_run(run_id)).id == run_id
    since = datetime.now(UTC) - timedelta(minutes=10)
    assert [r.id for r in await repo.list_runs(workflow="ci.yml", event="workflow_dispatch", created_since=since)]
    [job] = await repo.list_jobs(run_id)
    assert await repo.job_log(job.id)
    second = await repo.dispatch_workflow(workflow="ci.yml", ref="main", inputs={"environment": "staging"})
    assert second is not None
    await repo.cancel_run(second)  # at once: the run's 0.3 s job has not finished
    assert await repo.list_runners()
    await repo.list_issues(labels=["incident"], since=since)
    # Issue 15: what a scheduled verification asks (the default branch, its head, a tracking issue).
    assert await repo.default_branch() == "main"
    assert len(await repo.branch_head("main")) == 40
    assert await repo.create_issue(title="verify-staging: scheduled", body="tracking", labels=["verify-staging"]) > 0
    assert (await repo.get_pull_request(42)).number == 42
    assert await repo.get_permission("alice-admin") == "admin"
    assert await repo.is_team_member(org="paws360", team="sre", user="sam-sre")
    assert not await repo.is_team_member(org="paws360", team="sre", user="alice-admin")  # a 404 answer
    assert await repo.get_file("README.md", ref="main") == "hello\n"
    assert await repo.get_file("missing/file.yml") is None
    comment = await repo.create_comment(42, "Verification started")
    await repo.update_comment(comment, "Verification done")
    await repo.add_reaction(comment, "rocket")
    check = await repo.create_check_run(
        NewCheckRun(
            name="verify-staging",
            head_sha=PR_SHA,
            status=CheckRunStatus.IN_PROGRESS,
            external_id="vs-1",
            output=CheckRunOutput("Verifying", "running"),
            actions=[CheckRunAction("Abort", "Stop the verification", "abort")],
            details_url="https://verify-staging.example/v/vs-1",
            started_at=datetime.now(UTC),
        )
    )
    await repo.update_check_run(
        check,
        CheckRunUpdate(
            status=CheckRunStatus.COMPLETED,
            conclusion=CheckRunConclusion.SUCCESS,
            output=CheckRunOutput("Passed", "ok", "all five"),
            actions=[],
            completed_at=datetime.now(UTC),
        ),
    )


async def test_answers_to_the_app_match_github_s_response_schemas(
    start_lab: StartLab, keys: Keys, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.jsonl"
    lab = await start_lab(answers_log=answers)
    await app_requests(lab, keys)
    recorded = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    assert len(recorded) >= 25
    assert {a["principal"] for a in recorded} == {"app", "installation"}
    assert lab.truth.events("undocumented_request") == []
    schemas = response_schemas()
    problems = [problem for answer in recorded for problem in schemas.problems(answer)]
    assert problems == [], "\n".join(problems)


def test_the_check_costs_microseconds_per_request() -> None:
    """Per-request overhead of the description check (path lookup, query names, body fields), measured."""
    description = load_description()
    sample = [
        ("GET", f"/repos/{REPO}/actions/runs/123/jobs", ("per_page", "page"), None),
        ("GET", f"/repos/{REPO}/contents/deploy/workflows/ci.yml", ("ref",), None),
        ("POST", f"/repos/{REPO}/check-runs", (), {"name": "x", "head_sha": PR_SHA, "output": {"title": "t"}}),
        ("PATCH", f"/repos/{REPO}/issues/comments/9", (), {"body": "b"}),
    ]
    rounds = 2000
    began = time.perf_counter()
    for _ in range(rounds):
        for method, path, query, body in sample:
            assert not description.check(method, path, query, body).problem
    per_request_us = (time.perf_counter() - began) / (rounds * len(sample)) * 1e6
    print(f"OpenAPI request check: {per_request_us:.1f} µs per request")
    # Generous for a loaded machine: the lab's own handling of a request costs about a millisecond.
    assert per_request_us < 200


def test_a_missing_description_stops_the_lab_with_a_sentence_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DescriptionMissing, match=r"npm ci --prefix tools"):
        load_description(tmp_path / "api.github.com.json")


def test_paths_match_the_most_literal_template_and_multi_segment_parameters() -> None:
    description = load_description()
    expected = {
        "/repos/o/r/issues/comments": "/repos/{owner}/{repo}/issues/comments",
        "/repos/o/r/issues/12": "/repos/{owner}/{repo}/issues/{issue_number}",
        "/repos/o/r/contents/deploy/workflows/ci.yml": "/repos/{owner}/{repo}/contents/{path}",
        "/repos/o/r/commits/abc/check-runs": "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        "/repos/o/r/commits/heads/feature/x": "/repos/{owner}/{repo}/commits/{ref}",
    }
    for path, template in expected.items():
        operation = description.check("GET", path, (), None).operation
        assert operation is not None and operation.template == template, path
    # A workflow dispatch's `inputs` is a free object; its other fields are not.
    dispatch = f"/repos/{REPO}/actions/workflows/ci.yml/dispatches"
    assert not description.check("POST", dispatch, (), {"ref": "main", "inputs": {"anything": "1"}}).problem
    assert '"inputz"' in description.check("POST", dispatch, (), {"ref": "main", "inputz": {}}).problem
