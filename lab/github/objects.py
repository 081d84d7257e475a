"""GitHub's JSON shapes for people, the App and the repository, as REST answers and webhook payloads show them.
Field lists follow GitHub's OpenAPI description; `Shapes` (lab.github.shapes) adds runs, checks and issues."""

from __future__ import annotations

import base64
from typing import Any

from lab.github.config import SimConfig
from lab.github.pulls import Pulls
from lab.github.state import (
    stable_id,
)

_CREATED = "2024-01-15T09:00:00Z"
_LITE_KEYS = ("id", "node_id", "name", "full_name", "private", "owner", "description", "fork", "url")
_CLONE_URLS = ("clone_url", "git_url", "mirror_url", "ssh_url", "svn_url")
_REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode()


class BaseShapes:
    """People, the App and the repository as GitHub JSON; `base` is the simulated GitHub's URL."""

    def __init__(self, config: SimConfig, base: str, *, pulls: Pulls) -> None:
        self.config = config
        self.pulls = pulls
        self.rebase(base)
        self.repo_id = stable_id("repo:" + config.repository)
        self.org_id = stable_id("org:" + config.owner)

    def rebase(self, base: str) -> None:
        """Links point at `base` (known only once the server has its port)."""
        self.base = base.rstrip("/")
        self.repo_api = f"{self.base}/repos/{self.config.repository}"
        self.repo_html = f"{self.base}/{self.config.repository}"

    # ------------------------------------------------------------------------------------------ people
    def user(self, login: str, *, kind: str | None = None) -> dict[str, Any]:
        if kind is None:
            kind = "Bot" if login.endswith("[bot]") else "User"
            for spec in self.config.users:
                if spec.login == login:
                    kind = spec.type
        ident = self.org_id if kind == "Organization" else stable_id("user:" + login)
        api = f"{self.base}/users/{login}"
        return {
            "login": login,
            "id": ident,
            "node_id": node_id("U", ident),
            "avatar_url": f"{self.base}/_avatars/{ident}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.base}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": kind,
            "site_admin": False,
        }

    @property
    def bot_login(self) -> str:
        return f"{self.config.app_slug}[bot]"

    def organization(self) -> dict[str, Any]:
        api = f"{self.base}/orgs/{self.config.owner}"
        return {
            "login": self.config.owner,
            "id": self.org_id,
            "node_id": node_id("O", self.org_id),
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"{self.base}/_avatars/{self.org_id}",
            "description": "",
        }

    def installation_lite(self) -> dict[str, Any]:
        return {"id": self.config.installation_id, "node_id": node_id("I", self.config.installation_id)}

    def app(self) -> dict[str, Any]:
        c = self.config
        return {
            "id": c.app_id,
            "slug": c.app_slug,
            "node_id": node_id("A", c.app_id),
            "owner": self.user(c.owner, kind="Organization"),
            "name": c.app_slug,
            "description": "",
            "external_url": f"{self.base}/apps/{c.app_slug}",
            "html_url": f"{self.base}/apps/{c.app_slug}",
            "created_at": _CREATED,
            "updated_at": _CREATED,
            "permissions": dict(c.app_permissions),
            "events": list(c.app_events),
        }

    def actions_app(self) -> dict[str, Any]:
        app = self.app()
        app.update(id=15368, slug="github-actions", name="GitHub Actions")
        app["node_id"] = node_id("A", 15368)
        app["owner"] = self.user("github", kind="Organization")
        return app

    # ------------------------------------------------------------------------------------------ repository
    def repository(self) -> dict[str, Any]:
        c = self.config
        api, html = self.repo_api, self.repo_html
        templated = {
            "keys_url": "/keys{/key_id}",
            "collaborators_url": "/collaborators{/collaborator}",
            "issue_events_url": "/issues/events{/number}",
            "assignees_url": "/assignees{/user}",
            "branches_url": "/branches{/branch}",
            "blobs_url": "/git/blobs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "trees_url": "/git/trees{/sha}",
            "statuses_url": "/statuses/{sha}",
            "commits_url": "/commits{/sha}",
            "git_commits_url": "/git/commits{/sha}",
            "comments_url": "/comments{/number}",
            "issue_comment_url": "/issues/comments{/number}",
            "contents_url": "/contents/{+path}",
            "compare_url": "/compare/{base}...{head}",
            "archive_url": "/{archive_format}{/ref}",
            "issues_url": "/issues{/number}",
            "pulls_url": "/pulls{/number}",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "labels_url": "/labels{/name}",
            "releases_url": "/releases{/id}",
        }
        plain = ("forks", "teams", "hooks", "events", "tags", "languages", "stargazers", "contributors")
        plain2 = ("subscribers", "subscription", "merges", "downloads", "deployments")
        repo: dict[str, Any] = {
            "id": self.repo_id,
            "node_id": node_id("R", self.repo_id),
            "name": c.repo_name,
            "full_name": c.repository,
            "private": False,
            "owner": self.user(c.owner, kind="Organization"),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
        }
        repo.update({f"{name}_url": f"{api}/{name}" for name in plain + plain2})
        repo.update({key: api + suffix for key, suffix in templated.items()})
        repo.update(
            {
                "created_at": _CREATED,
                "updated_at": _CREATED,
                "pushed_at": _CREATED,
                "git_url": f"git://lab/{c.repository}.git",
                "ssh_url": f"git@lab:{c.repository}.git",
                "clone_url": f"{html}.git",
                "svn_url": html,
                "homepage": None,
                "size": 1,
                "stargazers_count": 0,
                "watchers_count": 0,
                "language": "Python",
                "has_issues": True,
                "has_projects": True,
                "has_downloads": True,
                "has_wiki": False,
                "has_pages": False,
                "has_discussions": False,
                "forks_count": 0,
                "mirror_url": None,
                "archived": False,
                "disabled": False,
                "open_issues_count": 0,
                "license": None,
                "allow_forking": True,
                "forks": 0,
                "open_issues": 0,
                "watchers": 0,
                "default_branch": c.default_branch,
                "is_template": False,
                "topics": [],
                "visibility": "public",
                "web_commit_signoff_required": False,
                "custom_properties": {},
            }
        )
        return repo

    def repository_lite(self) -> dict[str, Any]:
        """The minimal repository that workflow runs embed (`repository`, `head_repository`)."""
        full = self.repository()
        return {k: v for k, v in full.items() if (k.endswith("_url") and k not in _CLONE_URLS) or k in _LITE_KEYS}

    def repo_ref(self) -> dict[str, Any]:
        return {"id": self.repo_id, "url": self.repo_api, "name": self.config.repo_name}

    def pull_refs(self, head_sha: str) -> list[dict[str, Any]]:
        """The `pull_requests` array of runs and suites: open PRs whose head is this commit (not from forks)."""
        out = []
        for pr in self.pulls:
            if pr.head_sha == head_sha and not pr.from_fork:
                out.append(
                    {
                        "url": f"{self.repo_api}/pulls/{pr.number}",
                        "id": stable_id(f"pr:{pr.number}"),
                        "number": pr.number,
                        "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": self.repo_ref()},
                        "base": {"ref": pr.base, "sha": self.config.head_sha, "repo": self.repo_ref()},
                    }
                )
        return out

    def head_commit(self, sha: str) -> dict[str, Any]:
        person = {"name": "Lab", "email": "lab@example.invalid"}
        return {
            "id": sha,
            "tree_id": sha[::-1],
            "message": "lab commit",
            "timestamp": _CREATED,
            "author": person,
            "committer": person,
        }
