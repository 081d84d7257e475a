"""What the App must be granted for verify-staging to work: the permissions and events of app.yml, which a test
keeps equal to the file (the installed package carries no app.yml to read)."""

from __future__ import annotations

from collections.abc import Mapping

#: app.yml `default_permissions`.
REQUIRED_PERMISSIONS: Mapping[str, str] = {
    "actions": "write",
    "checks": "write",
    "issues": "write",
    "pull_requests": "write",
    "administration": "read",
    "members": "read",
    "contents": "read",
    "metadata": "read",
}
#: app.yml `default_events`.
REQUIRED_EVENTS: tuple[str, ...] = (
    "issue_comment",
    "workflow_run",
    "workflow_job",
    "check_run",
    "check_suite",
    "pull_request",
)

# GitHub's access levels, weakest first: a permission granted at a higher level covers a lower one.
_LEVELS = ("read", "write", "admin")


def missing_permissions(granted: Mapping[str, str]) -> dict[str, str]:
    """Required permission -> what is granted instead ("none" when absent), for each one not covered."""
    missing = {}
    for name, wanted in REQUIRED_PERMISSIONS.items():
        have = granted.get(name, "none")
        if have not in _LEVELS or _LEVELS.index(have) < _LEVELS.index(wanted):
            missing[name] = have
    return missing


def missing_events(subscribed: tuple[str, ...]) -> list[str]:
    return [event for event in REQUIRED_EVENTS if event not in subscribed]
