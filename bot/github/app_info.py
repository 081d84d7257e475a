"""What GitHub says about the App itself: its slug, and the permissions and events it asks for (`GET /app`) and
that each installation grants (`GET /repos/{owner}/{repo}/installation`), both read with the App's JWT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gidgethub import HTTPException

from bot.github.client import GitHubAppClient
from bot.ports import GitHubError


@dataclass(frozen=True)
class AppGrants:
    """Permissions (name -> read | write | admin) and subscribed events."""

    permissions: Mapping[str, str]
    events: tuple[str, ...]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> AppGrants | None:
        """From an App or installation object; None when it carries neither field."""
        permissions, events = data.get("permissions"), data.get("events")
        if not isinstance(permissions, dict) and not isinstance(events, list):
            return None
        return cls(
            permissions={str(k): str(v) for k, v in (permissions or {}).items()},
            events=tuple(str(e) for e in (events or ())),
        )


@dataclass(frozen=True)
class AppFacts:
    slug: str
    grants: AppGrants | None


@dataclass(frozen=True)
class InstallationFacts:
    id: int
    #: What this installation granted. The owner must accept new permissions an App asks for, so until then the
    #: installation's grants lag behind the App's (GitHub docs: "Modifying a GitHub App registration").
    grants: AppGrants | None


class AppDirectory:
    """The App's own facts through its JWT (GitHubAppClient's transport, so retries and limits apply)."""

    def __init__(self, app: GitHubAppClient) -> None:
        self._app = app
        self._gh = app.transport()

    async def app(self) -> AppFacts:
        data = await self._get("/app", {})
        return AppFacts(slug=str(data.get("slug") or data.get("name") or ""), grants=AppGrants.from_api(data))

    async def installation(self, repository: str) -> InstallationFacts:
        owner, name = repository.split("/", 1)
        data = await self._get("/repos/{owner}/{repo}/installation", {"owner": owner, "repo": name})
        return InstallationFacts(id=int(data["id"]), grants=AppGrants.from_api(data))

    async def _get(self, url: str, url_vars: Mapping[str, str]) -> Mapping[str, Any]:
        try:
            data = await self._gh.getitem(url, url_vars, jwt=self._app.jwt(), extra_headers=self._app.headers())
        except HTTPException as exc:
            raise GitHubError(f"GET {url} answered {int(exc.status_code)}", status=int(exc.status_code)) from None
        if not isinstance(data, dict):
            raise GitHubError(f"GET {url} answered no JSON object", status=None)
        return data
