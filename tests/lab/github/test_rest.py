"""The simulated GitHub's REST front door: App JWTs and tokens, permissions, rate-limit headers, ETag/304,
pagination, dispatch answers per API version, issues with label/since filters, reactions, and signatures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from githubkit.webhooks import sign as githubkit_sign

from lab.github.config import FlakyFaults, Permission, UserSpec
from lab.github.webhooks import sign
from tests.lab.github.conftest import FAST, INSTALLATION, PERMISSIONS, REPO, Keys, StartLab
from tests.support.keys import rsa_key


def test_signature_matches_githubs_test_vector() -> None:
    # docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert githubkit_sign("It's a Secret to Everybody", b"Hello, World!", method="sha256") == expected


async def test_app_jwt_buys_an_hour_long_installation_token(start_lab: StartLab, keys: Keys) -> None:
    lab = await start_lab()
    path = f"/app/installations/{INSTALLATION}/access_tokens"
    async with lab.http.post(lab.api(path), headers={"Authorization": f"Bearer {keys.jwt()}"}) as answer:
        assert answer.status == 201
        body = await answer.json()
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert body["permissions"] == PERMISSIONS
    status, _ = await lab.call("GET", f"/repos/{REPO}/actions/runners", token=body["token"])
    assert status == 200


async def test_bad_jwts_and_tokens_are_refused(start_lab: StartLab, keys: Keys) -> None:
    lab = await start_lab()
    path = lab.api(f"/app/installations/{INSTALLATION}/access_tokens")
    other = replace(keys, private_pem=rsa_key("another app").private_pem)
    for bad in (other.jwt(), keys.jwt(lifetime=1200), keys.jwt(iat_offset=-1000), keys.jwt(iss="9999")):
        async with lab.http.post(path, headers={"Authorization": f"Bearer {bad}"}) as answer:
            assert answer.status == 401, bad
    # A JWT opens only the App's endpoints; repository endpoints need an installation token.
    status, _ = await lab.call("GET", f"/repos/{REPO}/actions/runs", headers={"Authorization": f"Bearer {keys.jwt()}"})
    assert status == 401
    async with lab.http.get(lab.api(f"/repos/{REPO}/actions/runs")) as answer:
        assert answer.status == 401
    status, body = await lab.call("GET", f"/repos/{REPO}/actions/runs", token="ghs_not-a-token")
    assert (status, body["message"]) == (401, "Bad credentials")


async def test_expired_installation_token_is_refused(start_lab: StartLab, keys: Keys) -> None:
    lab = await start_lab(timing=replace(FAST, token_ttl=0.0))
    status, _ = await lab.call("GET", f"/repos/{REPO}/actions/runs")
    assert status == 401


async def test_missing_app_permission_answers_403(start_lab: StartLab) -> None:
    lab = await start_lab(app_permissions={k: v for k, v in PERMISSIONS.items() if k != "administration"})
    status, body = await lab.call("GET", f"/repos/{REPO}/actions/runners")
    assert (status, body["message"]) == (403, "Resource not accessible by integration")
    status, _ = await lab.call("GET", f"/repos/{REPO}/actions/runs")
    assert status == 200
    read_only = await start_lab(app_permissions={**PERMISSIONS, "checks": "read"})
    status, _ = await read_only.call("POST", f"/repos/{REPO}/check-runs", {"name": "x", "head_sha": "a" * 40})
    assert status == 403


async def test_rate_limit_headers_etag_and_304(start_lab: StartLab) -> None:
    lab = await start_lab()
    path = lab.api(f"/repos/{REPO}/pulls/42")
    async with lab.http.get(path, headers=lab.auth()) as first:
        etag = first.headers["ETag"]
        remaining = int(first.headers["x-ratelimit-remaining"])
        assert first.headers["x-ratelimit-limit"] == "5000"
        assert first.headers["x-ratelimit-resource"] == "core"
    async with lab.http.get(path, headers={**lab.auth(), "If-None-Match": etag}) as second:
        assert second.status == 304
        assert await second.read() == b""
        assert int(second.headers["x-ratelimit-remaining"]) == remaining  # a 304 costs nothing
    await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": "changed"})
    async with lab.http.get(path, headers={**lab.auth(), "If-None-Match": etag}) as third:
        assert third.status == 200
        assert int(third.headers["x-ratelimit-remaining"]) == remaining - 2


async def test_link_pagination_over_issue_comments(start_lab: StartLab) -> None:
    lab = await start_lab()
    for n in range(5):
        await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": f"c{n}"})
    async with lab.http.get(lab.api(f"/repos/{REPO}/issues/42/comments?per_page=2&page=2"), headers=lab.auth()) as a:
        bodies = [c["body"] for c in await a.json()]
        link = a.headers["Link"]
    assert bodies == ["c2", "c3"]
    assert 'page=3>; rel="next"' in link and 'page=3>; rel="last"' in link and 'page=1>; rel="first"' in link


async def test_dispatch_answer_depends_on_api_version(start_lab: StartLab) -> None:
    lab = await start_lab()
    path = f"/repos/{REPO}/actions/workflows/ci.yml/dispatches"
    body = {"ref": "001-github-runner-deploy", "inputs": {"environment": "staging"}}
    status, answer = await lab.call("POST", path, body)
    assert (status, answer) == (204, None)
    status, answer = await lab.call("POST", path, body, headers={"X-GitHub-Api-Version": "2026-03-10"})
    assert status == 200 and set(answer) == {"workflow_run_id", "run_url", "html_url"}
    status, run = await lab.call("GET", f"/repos/{REPO}/actions/runs/{answer['workflow_run_id']}")
    assert run["display_title"] == "Deploy staging none"
    status, answer = await lab.call("POST", path, {**body, "inputs": {"nope": "1", "environment": "x"}})
    assert status == 422
    status, answer = await lab.call("POST", path, {"ref": "no-such-branch", "inputs": {"environment": "x"}})
    assert status == 422
    status, runs = await lab.call("GET", f"/repos/{REPO}/actions/runs?event=workflow_dispatch&created=>=2020-01-01")
    assert runs["total_count"] == 2


async def test_issues_created_by_a_job_token_are_listed_by_label_and_since(start_lab: StartLab) -> None:
    lab = await start_lab()
    run_id = await lab.dispatch(environment="staging")
    job_token = lab.github.sim.actions.token_for_run(run_id)
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    status, issue = await lab.call(
        "POST", f"/repos/{REPO}/issues", {"title": "Rollback", "labels": ["incident"]}, token=job_token
    )
    assert status == 201 and issue["user"]["login"] == "github-actions[bot]"
    await lab.call("POST", f"/repos/{REPO}/issues", {"title": "Other", "labels": ["chore"]}, token=job_token)
    since = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    status, found = await lab.call("GET", f"/repos/{REPO}/issues?labels=incident&since={since}")
    assert [i["title"] for i in found] == ["Rollback"]
    later = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, found = await lab.call("GET", f"/repos/{REPO}/issues?labels=incident&since={later}")
    assert found == []


async def test_reactions_permissions_and_teams(start_lab: StartLab) -> None:
    lab = await start_lab()
    status, comment = await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": "hi"}, token="pat-bob")
    assert status == 201
    path = f"/repos/{REPO}/issues/comments/{comment['id']}/reactions"
    assert (await lab.call("POST", path, {"content": "rocket"}))[0] == 201
    assert (await lab.call("POST", path, {"content": "rocket"}))[0] == 200
    assert (await lab.call("POST", path, {"content": "party"}))[0] == 422
    status, perm = await lab.call("GET", f"/repos/{REPO}/collaborators/bob-reader/permission")
    assert perm["permission"] == "read"
    assert (await lab.call("GET", "/orgs/paws360/teams/sre/memberships/sam-sre"))[0] == 200
    assert (await lab.call("GET", "/orgs/paws360/teams/sre/memberships/alice-admin"))[0] == 404
    # A reader may comment but may not dispatch.
    path = f"/repos/{REPO}/actions/workflows/ci.yml/dispatches"
    status, _ = await lab.call("POST", path, {"ref": "main", "inputs": {"environment": "x"}}, token="pat-bob")
    assert status == 403


async def test_github_flaky_answers_502_and_rate_limits_with_retry_after(start_lab: StartLab) -> None:
    lab = await start_lab()
    lab.github.set_flaky(FlakyFaults(error_share=0.5, rate_limit_every=60, retry_after=1, seed=3), rate_limit_now=True)
    statuses: list[int] = []
    retry_after = None
    for _ in range(30):
        async with lab.http.get(lab.api(f"/repos/{REPO}/pulls/42"), headers=lab.auth()) as answer:
            statuses.append(answer.status)
            if answer.status == 403:
                retry_after = answer.headers["Retry-After"]
    assert statuses[0] == 403 and retry_after == "1"
    assert statuses.count(403) == 1  # once a period
    assert 8 <= statuses.count(502) <= 22 and 200 in statuses


async def test_the_installation_object_says_what_the_owner_granted(start_lab: StartLab, keys: Keys) -> None:
    # GET /repos/{owner}/{repo}/installation with the App's JWT: the installation's `permissions` and `events`
    # (what `verify-staging doctor` compares with app.yml).
    lab = await start_lab(app_permissions={k: v for k, v in PERMISSIONS.items() if k != "members"})
    jwt = {"Authorization": f"Bearer {keys.jwt()}"}
    status, body = await lab.call("GET", f"/repos/{REPO}/installation", headers=jwt)
    assert status == 200
    assert (body["id"], "members" in body["permissions"]) == (INSTALLATION, False)
    assert body["permissions"]["actions"] == PERMISSIONS["actions"]
    assert "workflow_job" in body["events"]


async def test_maintain_and_triage_roles_are_answered_as_github_does(start_lab: StartLab) -> None:
    # docs.github.com "Get repository permissions for a user": `permission` is legacy and maps maintain to write
    # and triage to read; `role_name` is the role itself, and user.permissions says what the role may do.
    users = (
        UserSpec("mira-maintainer", Permission.MAINTAIN, token="pat-mira"),
        UserSpec("tariq-triager", Permission.TRIAGE, token="pat-tariq"),
    )
    lab = await start_lab(users=users)
    answers = {}
    for user in users:
        status, answers[user.login] = await lab.call("GET", f"/repos/{REPO}/collaborators/{user.login}/permission")
        assert status == 200
    mira, tariq = answers["mira-maintainer"], answers["tariq-triager"]
    assert (mira["role_name"], mira["permission"], mira["user"]["role_name"]) == ("maintain", "write", "maintain")
    assert mira["user"]["permissions"] == {"admin": False, "maintain": True, "push": True, "triage": True, "pull": True}
    assert (tariq["role_name"], tariq["permission"]) == ("triage", "read")
    assert tariq["user"]["permissions"] == {
        "admin": False,
        "maintain": False,
        "push": False,
        "triage": True,
        "pull": True,
    }
    # What each role may do follows: a maintainer may dispatch a workflow, a triager may not.
    path = f"/repos/{REPO}/actions/workflows/ci.yml/dispatches"
    body = {"ref": "main", "inputs": {"environment": "x"}}
    assert (await lab.call("POST", path, body, token="pat-mira"))[0] == 204
    assert (await lab.call("POST", path, body, token="pat-tariq"))[0] == 403
