"""The simulated GitHub holds requests to GitHub's published OpenAPI description (422 and a truth-log record for an
undocumented path, method, query parameter or body field), and its answers to the requests the App makes match the
description's response schemas."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from lab.github.openapi import DescriptionMissing, load_description
from lab.github.strict import exempt
from tests.lab.github.conftest import INSTALLATION, PR_SHA, REPO, Keys, StartLab
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


async def app_requests(lab: Any, keys: Keys) -> None:
    """The requests the App makes in a verification, with the query parameters and bodies it sends."""
    app = {"Authorization": f"Bearer {keys.jwt()}"}
    for path in ("/app", f"/repos/{REPO}/installation"):
        assert (await lab.call("GET", path, headers=app))[0] == 200, path
    status, _ = await lab.call("POST", f"/app/installations/{INSTALLATION}/access_tokens", headers=app)
    assert status == 201
    await lab.github.spawn_hosted_pool()
    run_id = await lab.dispatch(environment="staging", test_id="t-1")
    await lab.wait_run(run_id)
    job_id = (await lab.jobs(run_id))[0]["id"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
    gets = [
        f"/repos/{REPO}/actions/runs/{run_id}",
        f"/repos/{REPO}/actions/workflows/ci.yml/runs?event=workflow_dispatch&created=%3E%3D{since}&per_page=100",
        f"/repos/{REPO}/actions/runs/{run_id}/jobs?per_page=100",
        f"/repos/{REPO}/actions/jobs/{job_id}",
        f"/repos/{REPO}/actions/runners?per_page=100",
        f"/repos/{REPO}/issues?labels=incident&since={since}&state=all&per_page=100",
        f"/repos/{REPO}/pulls/42",
        f"/repos/{REPO}/issues/42",
        f"/repos/{REPO}/collaborators/alice-admin/permission",
        "/orgs/paws360/teams/sre/memberships/sam-sre",
        f"/repos/{REPO}/contents/README.md?ref=main",
        f"/repos/{REPO}",
    ]
    for path in gets:
        assert (await lab.call("GET", path))[0] == 200, path
    # An error answer (alice is in no team) has GitHub's error body.
    assert (await lab.call("GET", "/orgs/paws360/teams/sre/memberships/alice-admin"))[0] == 404
    logs = lab.api(f"/repos/{REPO}/actions/jobs/{job_id}/logs")
    async with lab.http.get(logs, headers=lab.auth(), allow_redirects=False) as answer:
        assert answer.status == 302
    status, check = await lab.call(
        "POST",
        f"/repos/{REPO}/check-runs",
        {
            "name": "verify-staging",
            "head_sha": PR_SHA,
            "status": "in_progress",
            "output": {"title": "Verifying", "summary": "running"},
            "actions": [{"label": "Abort", "description": "Stop it", "identifier": "abort"}],
        },
    )
    assert status == 201, check
    done = {"conclusion": "success", "output": {"title": "Passed", "summary": "ok", "text": "all"}}
    assert (await lab.call("PATCH", f"/repos/{REPO}/check-runs/{check['id']}", done))[0] == 200
    assert (await lab.call("GET", f"/repos/{REPO}/commits/{PR_SHA}/check-runs"))[0] == 200
    status, comment = await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": "/verify-staging"})
    assert status == 201
    assert (await lab.call("PATCH", f"/repos/{REPO}/issues/comments/{comment['id']}", {"body": "edited"}))[0] == 200
    reaction = {"content": "rocket"}
    assert (await lab.call("POST", f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", reaction))[0] == 201
    assert (await lab.call("GET", f"/repos/{REPO}/issues/42/comments?per_page=100"))[0] == 200
    assert (await lab.call("POST", f"/repos/{REPO}/actions/runs/{run_id}/cancel"))[0] in (202, 409)


async def test_answers_to_the_app_match_github_s_response_schemas(
    start_lab: StartLab, keys: Keys, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.jsonl"
    lab = await start_lab(answers_log=answers)
    await app_requests(lab, keys)
    recorded = [json.loads(line) for line in answers.read_text(encoding="utf-8").splitlines()]
    assert len(recorded) >= 25
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
