"""GitHub's JSON shapes for issues, pull requests, comments, labels and reactions."""

from __future__ import annotations

from typing import Any

from lab.github.config import PullSpec
from lab.github.objects import BaseShapes, node_id
from lab.github.state import CommentState, IssueState, iso_s, stable_id, utcnow

_REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


class IssueShapes(BaseShapes):
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

    def pull_request(self, spec: PullSpec, issue: dict[str, Any]) -> dict[str, Any]:
        """A pull request as `GET /repos/{o}/{r}/pulls/{n}` answers, built on its issue view."""
        number = spec.number
        repo = self.repository()
        pull = {
            k: v for k, v in issue.items() if k not in ("pull_request", "repository_url", "labels_url", "events_url")
        }
        pull.update(
            url=f"{self.repo_api}/pulls/{number}",
            id=issue["id"],
            diff_url=f"{issue['html_url']}.diff",
            patch_url=f"{issue['html_url']}.patch",
            issue_url=issue["url"],
            commits_url=f"{self.repo_api}/pulls/{number}/commits",
            review_comments_url=f"{self.repo_api}/pulls/{number}/comments",
            review_comment_url=f"{self.repo_api}/pulls/comments{{/number}}",
            statuses_url=f"{self.repo_api}/statuses/{spec.head_sha}",
            head={
                "label": f"{self.config.owner}:{spec.head_ref}",
                "ref": spec.head_ref,
                "sha": spec.head_sha,
                "user": repo["owner"],
                "repo": repo,
            },
            base={
                "label": f"{self.config.owner}:{spec.base}",
                "ref": spec.base,
                "sha": self.config.head_sha,
                "user": repo["owner"],
                "repo": repo,
            },
            merged_at=None,
            merge_commit_sha=None,
            merged=False,
            mergeable=True,
            draft=False,
            requested_reviewers=[],
            requested_teams=[],
            auto_merge=None,
            mergeable_state="clean",
            merged_by=None,
            review_comments=0,
            maintainer_can_modify=False,
            commits=1,
            additions=1,
            deletions=0,
            changed_files=1,
            rebaseable=True,
            _links={
                "self": {"href": f"{self.repo_api}/pulls/{number}"},
                "html": {"href": issue["html_url"]},
                "issue": {"href": issue["url"]},
                "comments": {"href": f"{issue['url']}/comments"},
                "review_comments": {"href": f"{self.repo_api}/pulls/{number}/comments"},
                "review_comment": {"href": f"{self.repo_api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{self.repo_api}/pulls/{number}/commits"},
                "statuses": {"href": f"{self.repo_api}/statuses/{spec.head_sha}"},
            },
        )
        return pull

    def pull_request_hook(self, spec: PullSpec, issue: dict[str, Any]) -> dict[str, Any]:
        """The pull request as `pull_request` webhooks embed it: the REST object without the issue-only fields."""
        pull = self.pull_request(spec, issue)
        for key in ("reactions", "timeline_url", "performed_via_github_app", "state_reason"):
            pull.pop(key, None)
        return pull

    # ------------------------------------------------------------------------------------------ pushes
    def push(self, before: PullSpec, after: PullSpec, *, pusher: str) -> dict[str, Any]:
        """The `push` webhook of one new commit on a pull request's head branch (no repository/sender: the hub adds
        them)."""
        commit = self.push_commit(after.head_sha, pusher)
        return {
            "ref": f"refs/heads/{after.head_ref}",
            "before": before.head_sha,
            "after": after.head_sha,
            "created": False,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{self.repo_html}/compare/{before.head_sha[:12]}...{after.head_sha[:12]}",
            "commits": [commit],
            "head_commit": commit,
            "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.lab"},
        }

    def push_commit(self, sha: str, author: str) -> dict[str, Any]:
        person = {"name": author, "email": f"{author}@users.noreply.lab", "username": author}
        return {
            "id": sha,
            "tree_id": sha[::-1],
            "distinct": True,
            "message": "lab push",
            "timestamp": iso_s(utcnow()),
            "url": f"{self.repo_html}/commit/{sha}",
            "author": person,
            "committer": person,
            "added": [],
            "removed": [],
            "modified": ["README.md"],
        }

    def push_repository(self) -> dict[str, Any]:
        """`push` payloads show the repository in an older form: epoch-second times, an owner with name and email,
        and `stargazers` / `master_branch`."""
        repo = self.repository()
        owner = dict(repo["owner"])
        owner.update(name=owner["login"], email=None)
        repo.update(
            owner=owner,
            created_at=1705309200,  # the lab's repository creation time (2024-01-15T09:00:00Z)
            pushed_at=int(utcnow().timestamp()),
            stargazers=repo["stargazers_count"],
            master_branch=repo["default_branch"],
        )
        return repo
