"""The simulated GitHub's App-manifest flow: the "new App from manifest" page approves and redirects with a code,
the conversion hands over the App's credentials once, and the new App's key opens `GET /app`."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt

from tests.lab.github.conftest import REPO, Lab, StartLab

CALLBACK = "http://127.0.0.1:9/callback"


def manifest(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "verify-staging-test",
        "url": "https://example.test/verify-staging",
        "hook_attributes": {"url": "https://bot.example.test/webhooks", "active": True},
        "redirect_url": CALLBACK,
        "public": False,
        "default_events": ["issue_comment", "workflow_job"],
        "default_permissions": {"actions": "write", "checks": "write", "metadata": "read"},
        **overrides,
    }


async def post_manifest(
    lab: Lab, body: dict[str, Any] | str, *, path: str = "/settings/apps/new?state=s1"
) -> aiohttp.ClientResponse:
    raw = body if isinstance(body, str) else json.dumps(body)
    return await lab.http.post(lab.api(path), data={"manifest": raw}, allow_redirects=False)


async def approved_code(lab: Lab, **overrides: Any) -> str:
    async with await post_manifest(lab, manifest(**overrides)) as answer:
        assert answer.status == 302, await answer.text()
        location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def convert(lab: Lab, code: str) -> tuple[int, Any]:
    async with lab.http.post(lab.api(f"/app-manifests/{code}/conversions")) as answer:
        return answer.status, await answer.json()


def app_jwt(pem: str, app_id: int) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now - 30, "exp": now + 300, "iss": str(app_id)}, pem, algorithm="RS256")


async def test_a_manifest_becomes_an_app_whose_key_opens_get_app(start_lab: StartLab) -> None:
    lab = await start_lab()
    status, app = await convert(lab, await approved_code(lab))
    assert status == 201, app
    for key in ("id", "slug", "node_id", "owner", "name", "client_id", "client_secret", "webhook_secret", "pem"):
        assert app[key], key
    assert app["slug"] == "verify-staging-test"
    assert app["html_url"] == lab.api("/apps/verify-staging-test")
    assert app["events"] == ["issue_comment", "workflow_job"]
    assert app["permissions"]["actions"] == "write"

    async with lab.http.get(
        lab.api("/app"), headers={"Authorization": f"Bearer {app_jwt(app['pem'], app['id'])}"}
    ) as answer:
        assert answer.status == 200
        assert (await answer.json())["slug"] == "verify-staging-test"
    # The new App is installed nowhere: its JWT does not reach the lab App's installation.
    status, _ = await lab.call("POST", "/app/installations/1001/access_tokens", token=app_jwt(app["pem"], app["id"]))
    assert status == 404
    assert lab.truth.events("app_registered")


async def test_a_code_converts_once(start_lab: StartLab) -> None:
    lab = await start_lab()
    code = await approved_code(lab)
    assert (await convert(lab, code))[0] == 201
    assert (await convert(lab, code))[0] == 404


async def test_an_expired_code_is_refused(start_lab: StartLab) -> None:
    lab = await start_lab()
    lab.github.manifest_apps.ttl = 0.0
    status, body = await convert(lab, await approved_code(lab))
    assert status == 422
    assert body["message"] == "Validation Failed"


async def test_an_organization_owns_the_app_registered_on_its_page(start_lab: StartLab) -> None:
    lab = await start_lab()
    org = REPO.split("/")[0]
    async with await post_manifest(lab, manifest(), path=f"/organizations/{org}/settings/apps/new?state=s1") as answer:
        assert answer.status == 302
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    _, app = await convert(lab, code)
    assert app["owner"]["login"] == org
    assert app["owner"]["type"] == "Organization"
    async with await post_manifest(lab, manifest(name="x"), path="/organizations/nobody/settings/apps/new") as answer:
        assert answer.status == 404


async def test_an_invalid_manifest_is_refused_on_the_page(start_lab: StartLab) -> None:
    lab = await start_lab()
    refused = {
        "not json": "{",
        "no url": json.dumps({k: v for k, v in manifest().items() if k != "url"}),
        "hook without url": json.dumps(manifest(hook_attributes={"active": True})),
        "relative redirect": json.dumps(manifest(redirect_url="/callback")),
        "bad level": json.dumps(manifest(default_permissions={"actions": "owner"})),
        "name in use": json.dumps(manifest(name="verify-staging")),
    }
    for why, raw in refused.items():
        async with await post_manifest(lab, raw) as answer:
            assert answer.status == 422, why
            assert "Invalid GitHub App configuration" in await answer.text()
    assert lab.github.manifest_apps.apps == {}
