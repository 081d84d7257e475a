"""GitHub's JSON shapes for the lab's objects (users, repository, runs, jobs, check runs, issues, comments,
runners), as REST answers and webhook payloads show them. Field lists follow GitHub's OpenAPI description."""

from __future__ import annotations

import base64
from typing import Any

from lab.github.config import SimConfig
from lab.github.state import (
    CheckRunState,
    CheckSuiteState,
    CommentState,
    IssueState,
    JobState,
    RunnerState,
    RunState,
    iso_s,
    iso_step,
    stable_id,
)

_CREATED = "2024-01-15T09:00:00Z"
_LITE_KEYS = ("id", "node_id", "name", "full_name", "private", "owner", "description", "fork", "url")
_NOT_IN_CHECK_RUN_SUITE = (
    "repository",
    "runs_rerequestable",
    "rerequestable",
    "check_runs_url",
    "head_commit",
    "latest_check_runs_count",
)
_CLONE_URLS = ("clone_url", "git_url", "mirror_url", "ssh_url", "svn_url")
_REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode()


class Shapes:
    """Renders state objects as GitHub JSON; `base` is the simulated GitHub's URL (API and web links)."""

    def __init__(self, config: SimConfig, base: str) -> None:
        self.config = config
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
        for pr in self.config.pull_requests:
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

    # ------------------------------------------------------------------------------------------ actions
    def workflow(self, workflow_id: int, path: str, name: str) -> dict[str, Any]:
        return {
            "id": workflow_id,
            "node_id": node_id("W", workflow_id),
            "name": name,
            "path": path,
            "state": "active",
            "created_at": "2024-01-15T09:00:00.000Z",
            "updated_at": "2024-01-15T09:00:00.000Z",
            "url": f"{self.repo_api}/actions/workflows/{workflow_id}",
            "html_url": f"{self.repo_html}/blob/{self.config.default_branch}/{path}",
            "badge_url": f"{self.repo_html}/workflows/{name}/badge.svg",
        }

    def workflow_run(self, run: RunState, *, webhook: bool = False) -> dict[str, Any]:
        api = f"{self.repo_api}/actions/runs/{run.id}"
        status = run.status
        if webhook and status == "pending":
            status = "queued"  # octokit's webhook enum has no `pending` (only REST shows it)
        actor = self.user(run.actor)
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WFR", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.path,
            "display_title": run.display_title,
            "run_number": run.run_number,
            "event": run.event,
            "status": status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": run.check_suite_id,
            "check_suite_node_id": node_id("CS", run.check_suite_id),
            "url": api,
            "html_url": f"{self.repo_html}/actions/runs/{run.id}",
            "pull_requests": self.pull_refs(run.head_sha),
            "created_at": iso_s(run.created_at),
            "updated_at": iso_s(run.updated_at),
            "actor": actor,
            "triggering_actor": actor,
            "run_attempt": 1,
            "referenced_workflows": [],
            "run_started_at": iso_s(run.run_started_at),
            "jobs_url": f"{api}/jobs",
            "logs_url": f"{api}/logs",
            "check_suite_url": f"{self.repo_api}/check-suites/{run.check_suite_id}",
            "artifacts_url": f"{api}/artifacts",
            "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{self.repo_api}/actions/workflows/{run.workflow_id}",
            "head_commit": self.head_commit(run.head_sha),
            "repository": self.repository_lite(),
            "head_repository": self.repository_lite(),
        }

    def workflow_job(self, job: JobState, run: RunState) -> dict[str, Any]:
        # GitHub: runner_* fields are null as long as the job is queued.
        queued = job.status in ("queued", "waiting")
        return {
            "id": job.id,
            "run_id": run.id,
            "workflow_name": run.name,
            "head_branch": run.head_branch,
            "run_url": f"{self.repo_api}/actions/runs/{run.id}",
            "run_attempt": 1,
            "node_id": node_id("J", job.id),
            "head_sha": run.head_sha,
            "url": f"{self.repo_api}/actions/jobs/{job.id}",
            "html_url": f"{self.repo_html}/actions/runs/{run.id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": iso_s(job.created_at),
            "started_at": iso_s(job.started_at or job.created_at),
            "completed_at": iso_s(job.completed_at),
            "name": job.name,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "conclusion": s.conclusion,
                    "number": s.number,
                    "started_at": iso_step(s.started_at),
                    "completed_at": iso_step(s.completed_at),
                }
                for s in job.steps
                if not queued
            ],
            "check_run_url": f"{self.repo_api}/check-runs/{job.check_run_id}",
            "labels": list(job.labels),
            "runner_id": None if queued else job.runner_id,
            "runner_name": None if queued else job.runner_name,
            "runner_group_id": None if queued else job.runner_group_id,
            "runner_group_name": None if queued else job.runner_group_name,
        }

    def runner(self, runner: RunnerState) -> dict[str, Any]:
        defaults = {"self-hosted", "linux", "x64"}
        return {
            "id": runner.id,
            "name": runner.name,
            "os": "linux",
            "status": "online" if runner.online else "offline",
            "busy": runner.busy,
            "ephemeral": False,
            "runner_group_id": 1,
            "labels": [
                {
                    "id": stable_id("label:" + label, base=1),
                    "name": label,
                    "type": "read-only" if label.lower() in defaults else "custom",
                }
                for label in runner.labels
            ],
        }

    # ------------------------------------------------------------------------------------------ checks
    def check_suite(self, suite: CheckSuiteState, *, runs_count: int, webhook: bool = False) -> dict[str, Any]:
        out = {
            "id": suite.id,
            "node_id": node_id("CS", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "url": f"{self.repo_api}/check-suites/{suite.id}",
            "before": "0" * 40,
            "after": suite.head_sha,
            "pull_requests": self.pull_refs(suite.head_sha),
            "app": self.app() if suite.app_owned else self.actions_app(),
            "created_at": iso_s(suite.created_at),
            "updated_at": iso_s(suite.updated_at),
            "rerequestable": True,
            "runs_rerequestable": True,
            "latest_check_runs_count": runs_count,
            "check_runs_url": f"{self.repo_api}/check-suites/{suite.id}/check-runs",
            "head_commit": self.head_commit(suite.head_sha),
        }
        if not webhook:
            out["repository"] = self.repository()
        return out

    def check_run(self, run: CheckRunState, suite: CheckSuiteState) -> dict[str, Any]:
        api = f"{self.repo_api}/check-runs/{run.id}"
        return {
            "id": run.id,
            "node_id": node_id("CR", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "url": api,
            "html_url": f"{self.repo_html}/runs/{run.id}",
            "details_url": run.details_url or f"{self.repo_html}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso_s(run.started_at),
            "completed_at": iso_s(run.completed_at),
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": run.annotations_count,
                "annotations_url": f"{api}/annotations",
            },
            "name": run.name,
            "check_suite": {
                k: v for k, v in self.check_suite(suite, runs_count=1).items() if k not in _NOT_IN_CHECK_RUN_SUITE
            },
            "app": self.app() if run.app_owned else self.actions_app(),
            "pull_requests": self.pull_refs(run.head_sha),
        }

    # ------------------------------------------------------------------------------------------ issues
    def reactions(self, url: str, counts: dict[str, int]) -> dict[str, Any]:
        return {"url": url, "total_count": sum(counts.values()), **{k: counts.get(k, 0) for k in _REACTIONS}}

    def label(self, name: str) -> dict[str, Any]:
        ident = stable_id("label:" + name, base=1)
        return {
            "id": ident,
            "node_id": node_id("L", ident),
            "url": f"{self.repo_api}/labels/{name}",
            "name": name,
            "color": "d73a4a",
            "default": False,
            "description": None,
        }

    def issue(self, issue: IssueState, association: str) -> dict[str, Any]:
        api = f"{self.repo_api}/issues/{issue.number}"
        ident = stable_id(f"issue:{issue.number}")
        out: dict[str, Any] = {
            "url": api,
            "repository_url": self.repo_api,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.repo_html}/{'pull' if issue.is_pull else 'issues'}/{issue.number}",
            "id": ident,
            "node_id": node_id("I", ident),
            "number": issue.number,
            "title": issue.title,
            "user": self.user(issue.user),
            "labels": [self.label(name) for name in issue.labels],
            "state": issue.state,
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": issue.comments,
            "created_at": iso_s(issue.created_at),
            "updated_at": iso_s(issue.updated_at),
            "closed_at": None,
            "author_association": association,
            "active_lock_reason": None,
            "body": issue.body,
            "reactions": self.reactions(f"{api}/reactions", {}),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
            "state_reason": None,
        }
        if issue.is_pull:
            pulls = f"{self.repo_api}/pulls/{issue.number}"
            html = f"{self.repo_html}/pull/{issue.number}"
            out["pull_request"] = {
                "url": pulls,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": None,
            }
            out["draft"] = False
        return out

    def comment(self, comment: CommentState, association: str) -> dict[str, Any]:
        api = f"{self.repo_api}/issues/comments/{comment.id}"
        counts: dict[str, int] = {}
        for _, content in comment.reactions:
            counts[content] = counts.get(content, 0) + 1
        is_app = comment.user == self.bot_login
        return {
            "url": api,
            "html_url": f"{self.repo_html}/pull/{comment.issue_number}#issuecomment-{comment.id}",
            "issue_url": f"{self.repo_api}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": node_id("IC", comment.id),
            "user": self.user(comment.user),
            "created_at": iso_s(comment.created_at),
            "updated_at": iso_s(comment.updated_at),
            "author_association": association,
            "body": comment.body,
            "reactions": self.reactions(f"{api}/reactions", counts),
            "performed_via_github_app": self.app() if is_app else None,
        }
