"""The GitHub App manifest (app.yml): the permissions the bot needs and the events its handlers route."""

from __future__ import annotations

from typing import Any

import yaml

from handlers import build_router, handled_events
from tests.deploy.conftest import REPO

MANIFEST = REPO / "app.yml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_manifest_events_are_the_events_the_handlers_route() -> None:
    assert set(manifest()["default_events"]) == handled_events(build_router())


def test_manifest_subscribes_to_the_events_verify_staging_handles() -> None:
    assert manifest()["default_events"] == [
        "issue_comment",
        "workflow_run",
        "workflow_job",
        "check_run",
        "check_suite",
        "pull_request",
    ]


def test_manifest_asks_for_exactly_the_permissions_the_bot_needs() -> None:
    assert manifest()["default_permissions"] == {
        "actions": "write",
        "checks": "write",
        "issues": "write",
        "pull_requests": "write",
        "administration": "read",
        "members": "read",
        "contents": "read",
        "metadata": "read",
    }


def test_manifest_identity_and_webhook() -> None:
    app = manifest()
    assert app["name"] == "verify-staging"
    assert app["description"].strip()
    assert app["url"].startswith("https://")
    assert app["public"] is False
    assert app["hook_attributes"]["active"] is True
    assert app["hook_attributes"]["url"].endswith("/webhooks")
