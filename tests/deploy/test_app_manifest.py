"""The GitHub App manifest (app.yml): the permissions the bot needs and the events its handlers route."""

from __future__ import annotations

from typing import Any

import yaml

from bot.doctor.manifest import REQUIRED_EVENTS, REQUIRED_PERMISSIONS
from handlers import build_router, handled_events
from tests.deploy.conftest import REPO

MANIFEST = REPO / "app.yml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_manifest_events_are_the_events_the_handlers_route() -> None:
    assert set(manifest()["default_events"]) == handled_events(build_router())


def test_manifest_subscribes_to_the_events_verify_staging_handles() -> None:
    # The doctor checks an installation against these (bot/doctor/manifest.py): one list, the file's.
    assert manifest()["default_events"] == list(REQUIRED_EVENTS)
    assert set(REQUIRED_EVENTS) == {
        "issue_comment", "workflow_run", "workflow_job", "check_run", "check_suite", "pull_request"
    }  # fmt: skip


def test_manifest_asks_for_exactly_the_permissions_the_bot_needs() -> None:
    assert manifest()["default_permissions"] == dict(REQUIRED_PERMISSIONS)
    writes = {name for name, level in REQUIRED_PERMISSIONS.items() if level == "write"}
    assert writes == {"actions", "checks", "issues", "pull_requests"}
    assert set(REQUIRED_PERMISSIONS.values()) == {"read", "write"}  # never admin


def test_manifest_identity_and_webhook() -> None:
    app = manifest()
    assert app["name"] == "verify-staging"
    assert app["description"].strip()
    assert app["url"].startswith("https://")
    assert app["public"] is False
    assert app["hook_attributes"]["active"] is True
    assert app["hook_attributes"]["url"].endswith("/webhooks")
