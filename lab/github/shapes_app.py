"""GitHub's JSON for the App's installation and the full repository (`GET /repos/{owner}/{repo}`), with every field
GitHub's OpenAPI description requires (`installation`, `full-repository`)."""

from __future__ import annotations

from typing import Any

from lab.github.objects import _CREATED, BaseShapes


class AppShapes(BaseShapes):
    def installation(self) -> dict[str, Any]:
        """The App's installation on the repository's owner (an organization, all its repositories)."""
        c = self.config
        return {
            "id": c.installation_id,
            "client_id": c.app_client_id,
            "account": self.user(c.owner, kind="Organization"),
            "repository_selection": "all",
            "access_tokens_url": f"{self.base}/app/installations/{c.installation_id}/access_tokens",
            "repositories_url": f"{self.base}/installation/repositories",
            "html_url": f"{self.base}/organizations/{c.owner}/settings/installations/{c.installation_id}",
            "app_id": c.app_id,
            "app_slug": c.app_slug,
            "target_id": self.org_id,
            "target_type": "Organization",
            "permissions": dict(c.app_permissions),
            "events": list(c.app_events),
            "created_at": _CREATED,
            "updated_at": _CREATED,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    def full_repository(self) -> dict[str, Any]:
        """The repository as `GET /repos/{owner}/{repo}` answers it: webhooks' fields plus the counts."""
        return {**self.repository(), "network_count": 0, "subscribers_count": 0}
