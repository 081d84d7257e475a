"""The fields every webhook delivery shares (event, delivery id, action, installation, repository), read once when it
arrives, so the repository filter, the runner poller, the logs and the features all see the same typed value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.github.models import PayloadError


@dataclass(frozen=True)
class Envelope:
    """One delivery's shared fields. `installation_id` and `repository` are None on events GitHub sends without them
    (e.g. `ping` from a webhook not tied to an installation)."""

    event: str  # the X-GitHub-Event header
    delivery_id: str  # the X-GitHub-Delivery header
    action: str | None
    installation_id: int | None
    repository: str | None  # owner/name

    @classmethod
    def read(cls, *, event: str, delivery_id: str, data: Mapping[str, Any]) -> Envelope:
        """The envelope of a parsed payload; PayloadError when a shared field is present in another shape than
        GitHub's (routing and logging rely on these types)."""
        action = data.get("action")
        if action is not None and not isinstance(action, str):
            raise PayloadError(f"delivery envelope: action is {type(action).__name__}, not a string")
        return cls(
            event=event,
            delivery_id=delivery_id,
            action=action,
            installation_id=_installation_id(data.get("installation")),
            repository=_full_name(data.get("repository")),
        )

    def log_fields(self) -> dict[str, object]:
        """The fields every log line about this delivery carries."""
        return {
            "delivery": self.delivery_id,
            "github_event": self.event,
            "action": self.action,
            "installation": self.installation_id,
        }


def _installation_id(installation: object) -> int | None:
    if installation is None:
        return None
    ident = installation.get("id") if isinstance(installation, dict) else None
    # bool is an int to Python, never to GitHub.
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise PayloadError("delivery envelope: installation.id is not an integer")
    return ident


def _full_name(repository: object) -> str | None:
    if repository is None:
        return None
    name = repository.get("full_name") if isinstance(repository, dict) else None
    if not isinstance(name, str):
        raise PayloadError("delivery envelope: repository.full_name is not a string")
    return name
