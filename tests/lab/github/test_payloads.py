"""Every webhook the simulated GitHub sends validates against octokit's schemas and parses with githubkit's
webhook models (generated from GitHub's own description); REST answers parse with githubkit's REST models."""

from __future__ import annotations

import json
from typing import Any

import githubkit_schemas.latest.models as rest
import pytest
from githubkit.webhooks import parse_obj, verify
from jsonschema import Draft7Validator
from pydantic import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.lab.github.conftest import PR_SHA, REPO, SECRET, Lab, StartLab, sleep_job, workflow
from tests.paths import WEBHOOK_SCHEMAS
from tests.support.wait import wait_until

SCHEMAS = WEBHOOK_SCHEMAS


def _registry() -> Registry[Any]:
    resources = []
    for path in SCHEMAS.rglob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)))
    return Registry().with_resources(resources)


async def _scripted_run(lab: Lab) -> None:
    """Comments, check runs (with every action) and a workflow run with a skipped job."""
    status, comment = await lab.call(
        "POST", f"/repos/{REPO}/issues/42/comments", {"body": "/verify-staging"}, token="pat-alice"
    )
    assert status == 201
    status, _ = await lab.call("POST", f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", {"content": "eyes"})
    assert status == 201
    status, own = await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": "Verification started"})
    status, _ = await lab.call("PATCH", f"/repos/{REPO}/issues/comments/{own['id']}", {"body": "Verification done"})
    assert status == 200
    actions = [{"label": "Retry", "description": "Run it again", "identifier": "retry"}]
    status, check = await lab.call(
        "POST",
        f"/repos/{REPO}/check-runs",
        {"name": "verify-staging / normal-deploy", "head_sha": PR_SHA, "status": "in_progress"},
    )
    assert status == 201
    output = {"title": "passed", "summary": "all criteria met"}
    status, _ = await lab.call(
        "PATCH",
        f"/repos/{REPO}/check-runs/{check['id']}",
        {"conclusion": "success", "output": output, "actions": actions},
    )
    assert status == 200
    status, _ = await lab.call("POST", f"/repos/{REPO}/check-runs/{check['id']}/rerequest", token="pat-alice")
    assert status == 201
    async with lab.http.post(
        lab.api(f"/_lab/check-runs/{check['id']}/requested-action"), json={"identifier": "retry", "user": "alice-admin"}
    ) as answer:
        assert answer.status == 201
    run_id = await lab.dispatch(environment="staging", test_id="payloads")
    await lab.wait_run(run_id)
    assert await lab.github.sim.hub.drain()


async def test_every_webhook_validates_against_octokit_schemas_and_githubkit(start_lab: StartLab) -> None:
    flow = workflow(
        {
            "build": sleep_job("ubuntu-latest", 0.2),
            "deploy": {**sleep_job(["self-hosted", "production"], 0.2), "needs": "build"},
            "rollback": {**sleep_job("ubuntu-latest", 0.1), "needs": "deploy", "if": "failure()"},
        }
    )
    lab = await start_lab(workflows={".github/workflows/ci.yml": flow})
    await lab.github.spawn_hosted_pool()
    await lab.github.spawn_runner("production-runner-02")
    await _scripted_run(lab)
    await wait_until(lambda: len(lab.sink.received) == len(lab.github.sim.hub.sent))

    registry = _registry()
    seen: set[str] = set()
    problems: set[str] = set()
    for delivery in lab.sink.received:
        payload = delivery.payload
        name = f"{delivery.event}${payload['action']}"
        seen.add(name)
        assert verify(SECRET, delivery.body, delivery.headers["X-Hub-Signature-256"])
        schema = registry.contents(name)
        for error in Draft7Validator(schema, registry=registry).iter_errors(payload):
            problems.add(f"{name}: {error.message} at {list(error.absolute_path)}")
        try:
            parse_obj(delivery.event, payload)
        except ValidationError as error:
            problems.add(f"{name} (githubkit): {error}")
    assert not problems, "\n".join(sorted(problems))
    expected = {
        "issue_comment$created",
        "issue_comment$edited",
        "check_run$created",
        "check_run$completed",
        "check_run$rerequested",
        "check_run$requested_action",
        "check_suite$completed",
        "workflow_run$requested",
        "workflow_run$in_progress",
        "workflow_run$completed",
        "workflow_job$queued",
        "workflow_job$in_progress",
        "workflow_job$completed",
    }
    assert expected <= seen


async def test_webhook_headers_and_pr_comment_shape(start_lab: StartLab) -> None:
    lab = await start_lab()
    await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": "/verify-staging"}, token="pat-alice")
    await wait_until(lambda: bool(lab.sink.of("issue_comment", "created")))
    delivery = lab.sink.of("issue_comment", "created")[0]
    headers = delivery.headers
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert len(headers["X-GitHub-Delivery"]) == 36
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == "4242"
    assert headers["X-GitHub-Hook-ID"]
    payload = delivery.payload
    assert payload["sender"]["login"] == "alice-admin"
    assert payload["comment"]["user"]["login"] == "alice-admin"
    assert payload["issue"]["pull_request"]["url"].endswith("/pulls/42")
    assert payload["installation"]["id"] == 1001
    assert len(payload["repository"]) >= 80


async def test_job_webhook_runner_fields_and_times(start_lab: StartLab) -> None:
    lab = await start_lab(
        workflows={".github/workflows/ci.yml": workflow({"d": sleep_job(["self-hosted", "production"], 0.2)})}
    )
    run_id = await lab.dispatch(environment="staging")
    await wait_until(lambda: bool(lab.sink.of("workflow_job", "queued")))
    await lab.github.spawn_runner("production-runner-01")
    await lab.wait_run(run_id)
    await wait_until(lambda: bool(lab.sink.of("workflow_job", "completed")))
    queued = lab.sink.of("workflow_job", "queued")[0].payload["workflow_job"]
    started = lab.sink.of("workflow_job", "in_progress")[0].payload["workflow_job"]
    assert queued["runner_name"] is None and queued["runner_id"] is None and queued["runner_group_name"] is None
    assert queued["started_at"] == queued["created_at"]
    assert started["runner_name"] == "production-runner-01"
    assert started["started_at"] >= started["created_at"]  # reset when the runner took the job
    queued_at = lab.truth.events("job_queued")[0].at
    assigned = lab.truth.events("job_assigned")[0]
    assert assigned.fields["runner"] == "production-runner-01" and assigned.at > queued_at
    for stamp in (queued["created_at"], started["started_at"]):
        assert stamp.endswith("Z") and len(stamp) == 20  # whole seconds, as GitHub


@pytest.mark.parametrize("version", ["2022-11-28", "2026-03-10"])
async def test_rest_answers_parse_with_githubkit_models(start_lab: StartLab, version: str) -> None:
    lab = await start_lab()
    await lab.github.spawn_hosted_pool()
    await lab.github.spawn_runner("production-runner-01")
    await wait_until(lambda: lab.github.sim.actions.pool.runners["production-runner-01"].online)
    run_id = await lab.dispatch(environment="staging")
    await lab.wait_run(run_id)
    await lab.call("POST", f"/repos/{REPO}/check-runs", {"name": "c", "head_sha": PR_SHA})
    headers = {"X-GitHub-Api-Version": version}
    answers: list[tuple[Any, str]] = [
        (rest.ReposOwnerRepoActionsRunsGetResponse200, f"/repos/{REPO}/actions/runs?event=workflow_dispatch"),
        (rest.WorkflowRun, f"/repos/{REPO}/actions/runs/{run_id}"),
        (rest.ReposOwnerRepoActionsRunsRunIdJobsGetResponse200, f"/repos/{REPO}/actions/runs/{run_id}/jobs"),
        (rest.ReposOwnerRepoActionsRunnersGetResponse200, f"/repos/{REPO}/actions/runners"),
        (rest.ReposOwnerRepoCommitsRefCheckRunsGetResponse200, f"/repos/{REPO}/commits/{PR_SHA}/check-runs"),
        (rest.PullRequest, f"/repos/{REPO}/pulls/42"),
        (rest.RepositoryCollaboratorPermission, f"/repos/{REPO}/collaborators/alice-admin/permission"),
        (rest.TeamMembership, "/orgs/paws360/teams/sre/memberships/sam-sre"),
        (rest.ContentFile, f"/repos/{REPO}/contents/README.md"),
    ]
    for model, path in answers:
        status, body = await lab.call("GET", path, headers=headers)
        assert status == 200, path
        model.model_validate(body)
    runners = (await lab.call("GET", f"/repos/{REPO}/actions/runners"))[1]["runners"]
    assert {r["name"]: r["status"] for r in runners} == {
        "production-runner-01": "online",
        "production-runner-02": "offline",
    }


async def test_a_push_to_the_pull_request_moves_its_head_and_sends_push_and_synchronize(start_lab: StartLab) -> None:
    lab = await start_lab(app_events=("issue_comment", "check_run", "push", "pull_request"))
    async with lab.http.post(lab.api("/_lab/pulls/42/push"), json={"user": "alice-admin"}) as answer:
        assert answer.status == 201
        pushed = await answer.json()
    new_sha = pushed["head_sha"]
    assert len(new_sha) == 40 and new_sha != PR_SHA
    status, pull = await lab.call("GET", f"/repos/{REPO}/pulls/42")
    assert status == 200 and pull["head"]["sha"] == new_sha
    await wait_until(lambda: len(lab.sink.received) == 2, what="push and synchronize")

    registry = _registry()
    push, synchronize = (d.payload for d in lab.sink.received)
    assert [d.headers["X-GitHub-Event"] for d in lab.sink.received] == ["push", "pull_request"]
    for name, payload, event in (
        ("push$event", push, "push"),
        ("pull_request$synchronize", synchronize, "pull_request"),
    ):
        errors = [e.message for e in Draft7Validator(registry.contents(name), registry=registry).iter_errors(payload)]
        assert errors == [], f"{name}: {errors}"
        parse_obj(event, payload)
    assert (push["ref"], push["before"], push["after"]) == ("refs/heads/001-github-runner-deploy", PR_SHA, new_sha)
    assert push["head_commit"]["id"] == new_sha and push["pusher"]["name"] == "alice-admin"
    assert (synchronize["before"], synchronize["after"], synchronize["number"]) == (PR_SHA, new_sha, 42)
    assert synchronize["pull_request"]["head"]["sha"] == new_sha
    assert synchronize["sender"]["login"] == "alice-admin"

    async with lab.http.post(lab.api("/_lab/pulls/99/push"), json={"user": "alice-admin"}) as answer:
        assert answer.status == 404
    # A dispatch on the branch now runs the new commit.
    run_id = await lab.dispatch(environment="staging")
    assert (await lab.run(run_id))["head_sha"] == new_sha
