"""GitHub's captured webhook payloads (tests/fixtures/github-webhooks), pointed at our repository, pull request and
people: what the front-door and handler tests deliver, so every field a handler might read is there as GitHub
sends it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.paths import WEBHOOK_PAYLOADS
from tests.support.settings import REPOSITORY

INSTALLATION_ID = 1001
PULL_REQUEST = 42


def load_fixture(relative: str) -> dict[str, Any]:
    """A captured payload, e.g. "issue_comment/created.with-installation.payload.json" (a fresh copy each call)."""
    data: dict[str, Any] = json.loads((WEBHOOK_PAYLOADS / relative).read_text())
    return data


def _ours(payload: dict[str, Any], *, user: str, user_type: str = "User") -> dict[str, Any]:
    payload["repository"]["full_name"] = REPOSITORY
    payload["installation"] = {"id": INSTALLATION_ID, "node_id": "x"}
    payload["sender"] = {**payload["sender"], "login": user, "type": user_type}
    return payload


def pr_comment(
    body: str,
    *,
    user: str = "alice-admin",
    user_type: str = "User",
    action: str = "created",
    on_pull_request: bool = True,
    comment_id: int = 555,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """An issue_comment delivery as GitHub sends it for a comment on pull request #42 (from the captured fixture),
    posted `created_at` (default: now, as a delivery that arrives at once)."""
    payload = _ours(
        load_fixture("issue_comment/created.with-installation.payload.json"), user=user, user_type=user_type
    )
    payload["action"] = action
    payload["issue"]["number"] = PULL_REQUEST
    if on_pull_request:
        payload["issue"]["pull_request"] = {
            "url": f"https://api.github.com/repos/{REPOSITORY}/pulls/{PULL_REQUEST}",
            "html_url": f"https://github.com/{REPOSITORY}/pull/{PULL_REQUEST}",
            "diff_url": f"https://github.com/{REPOSITORY}/pull/{PULL_REQUEST}.diff",
            "patch_url": f"https://github.com/{REPOSITORY}/pull/{PULL_REQUEST}.patch",
            "merged_at": None,
        }
    payload["comment"]["id"] = comment_id
    payload["comment"]["body"] = body
    posted = created_at or datetime.now(UTC)
    payload["comment"]["created_at"] = payload["comment"]["updated_at"] = posted.strftime("%Y-%m-%dT%H:%M:%SZ")
    payload["comment"]["user"] = {**payload["comment"]["user"], "login": user, "type": user_type}
    return payload


def check_delivery(
    event: str, action: str, *, user: str, head_sha: str, external_id: str = "", identifier: str | None = None
) -> dict[str, Any]:
    """A check_run (rerequested, requested_action) or check_suite (rerequested) delivery as GitHub sends it, for
    pull request #42 at `head_sha`: our check run's `external_id`, and the button's `identifier`."""
    payload = _ours(load_fixture(f"{event}/{action}.payload.json"), user=user)
    check = payload[event]
    check["head_sha"] = head_sha
    check["pull_requests"] = [{**pr, "number": PULL_REQUEST} for pr in check.get("pull_requests") or [{}]][:1]
    if event == "check_run":
        check["external_id"] = external_id
    if identifier is not None:
        payload["requested_action"] = {"identifier": identifier}
    return payload
