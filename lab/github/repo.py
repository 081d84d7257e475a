"""The repository's conversation and checks in the lab: issues and pull requests, comments, reactions, and the
App's check runs and suites, with the `issue_comment`, `check_run` and `check_suite` webhooks they cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lab.github.config import Permission, PullSpec, SimConfig
from lab.github.part import SimPart
from lab.github.pulls import Pulls
from lab.github.shapes import Shapes
from lab.github.state import CheckRunState, CheckSuiteState, CommentState, IssueState, utcnow
from lab.github.webhooks import WebhookHub
from lab.truth import Truth

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
STATUSES = ("queued", "in_progress", "completed")
ACTIONS_ONLY_STATUSES = ("waiting", "requested", "pending")
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out")


class Invalid(Exception):
    """A request GitHub answers with 422 (Validation Failed)."""


@dataclass(frozen=True)
class Reaction:
    id: int
    content: str
    user: str
    created: bool


def _parse_time(raw: Any) -> datetime | None:
    if raw in (None, ""):
        return None
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


class Repo(SimPart):
    """Issues, comments, reactions and check runs of the simulated repository."""

    def __init__(self, config: SimConfig, shapes: Shapes, hub: WebhookHub, truth: Truth, *, pulls: Pulls) -> None:
        super().__init__(config, shapes, hub, truth, pulls=pulls)
        self.issues: dict[int, IssueState] = {
            pr.number: IssueState(pr.number, pr.title, pr.body, pr.author or config.owner, is_pull=True)
            for pr in config.pull_requests
        }
        self.comments: dict[int, CommentState] = {}
        self.check_runs: dict[int, CheckRunState] = {}
        self.suites: dict[int, CheckSuiteState] = {}
        self._ids = iter(range(3_000_000_001, 4_000_000_000))

    # ------------------------------------------------------------------------------------------ people
    def role(self, login: str) -> Permission:
        for user in self.config.users:
            if user.login == login:
                return user.permission
        return Permission.NONE

    def association(self, login: str) -> str:
        if login.endswith("[bot]"):
            return "NONE"
        in_org = any(login in members for members in self.config.teams.values())
        role = self.role(login)
        if in_org or role == Permission.ADMIN:
            return "MEMBER"
        # Triage and read are collaborators too, but the lab's read users stand for the public, who are NONE.
        return "COLLABORATOR" if role.at_least(Permission.TRIAGE) else "NONE"

    # ------------------------------------------------------------------------------------------ issues
    def issue_json(self, issue: IssueState) -> dict[str, Any]:
        return self.shapes.issue(issue, self.association(issue.user))

    def comment_json(self, comment: CommentState) -> dict[str, Any]:
        return self.shapes.comment(comment, self.association(comment.user))

    def create_issue(self, *, title: str, body: str, labels: list[str], user: str) -> IssueState:
        if not title:
            raise Invalid("title is required")
        number = max(self.issues, default=0) + 1
        issue = IssueState(number, title, body, user, labels=list(labels))
        self.issues[number] = issue
        self.truth.record("issue_opened", number=number, title=title, labels=labels, user=user)
        return issue

    def list_issues(self, *, labels: list[str], since: datetime | None, state: str) -> list[IssueState]:
        wanted = {label.lower() for label in labels}
        found = [
            issue
            for issue in self.issues.values()
            if (state == "all" or issue.state == state)
            and wanted <= {label.lower() for label in issue.labels}
            and (since is None or issue.updated_at >= since)
        ]
        return sorted(found, key=lambda i: i.created_at, reverse=True)

    def add_comment(self, *, number: int, body: str, user: str) -> CommentState:
        issue = self.issues[number]
        if not body:
            raise Invalid("body is required")
        comment = CommentState(next(self._ids), number, body, user)
        self.comments[comment.id] = comment
        issue.comments += 1
        self.truth.record("comment_created", issue=number, comment_id=comment.id, user=user)
        self._comment_hook("created", comment, user)
        return comment

    def edit_comment(self, comment: CommentState, *, body: str, user: str) -> None:
        before = comment.body
        comment.body, comment.updated_at = body, utcnow()
        self._comment_hook("edited", comment, user, changes={"body": {"from": before}})

    def react(self, comment: CommentState, *, content: str, user: str) -> Reaction:
        if content not in REACTIONS:
            raise Invalid(f"content must be one of {', '.join(REACTIONS)}")
        key = (user, content)
        if key in comment.reactions:
            return Reaction(comment.reactions[key], content, user, created=False)
        comment.reactions[key] = next(self._ids)
        return Reaction(comment.reactions[key], content, user, created=True)

    def _comment_hook(self, action: str, comment: CommentState, user: str, **extra: Any) -> None:
        body = {
            "action": action,
            "issue": self.issue_json(self.issues[comment.issue_number]),
            "comment": self.comment_json(comment),
            **extra,
        }
        self.hub.send("issue_comment", body, sender=user)

    # ------------------------------------------------------------------------------------------ pushes
    def push_to_pull(self, number: int, *, user: str) -> PullSpec:
        """A new commit on the pull request's head branch, as `user` pushing it: GitHub sends `push` for the branch
        and `pull_request` `synchronize` for the pull request. Raises KeyError for an unknown pull request."""
        before, after = self.pulls.move_head(number)
        issue = self.issues[number]
        issue.updated_at = utcnow()
        self.truth.record("pull_pushed", number=number, before=before.head_sha, after=after.head_sha, user=user)
        self.hub.send(
            "push",
            self.shapes.push(before, after, pusher=user),
            sender=user,
            repository=self.shapes.push_repository(),
        )
        body = {
            "action": "synchronize",
            "number": number,
            "before": before.head_sha,
            "after": after.head_sha,
            "pull_request": self.shapes.pull_request_hook(after, self.issue_json(issue)),
        }
        self.hub.send("pull_request", body, sender=user)
        return after

    # ------------------------------------------------------------------------------------------ checks
    def suite_for(self, head_sha: str) -> CheckSuiteState:
        for suite in self.suites.values():
            if suite.head_sha == head_sha and suite.app_owned:
                return suite
        branch = next((p.head_ref for p in self.pulls if p.head_sha == head_sha), None)
        suite = CheckSuiteState(next(self._ids), head_sha, branch or self.config.default_branch, app_owned=True)
        self.suites[suite.id] = suite
        return suite

    def check_json(self, run: CheckRunState) -> dict[str, Any]:
        return self.shapes.check_run(run, self.suites[run.suite_id])

    def create_check_run(self, fields: dict[str, Any]) -> CheckRunState:
        name, head_sha = fields.get("name"), fields.get("head_sha")
        if not name or not head_sha:
            raise Invalid("name and head_sha are required")
        suite = self.suite_for(str(head_sha))
        run = CheckRunState(next(self._ids), str(name), str(head_sha), suite.id, app_owned=True)
        self.check_runs[run.id] = run
        self._apply(run, fields)
        if run.started_at is None:
            run.started_at = utcnow()
        self._check_hook("created", run, self.shapes.bot_login)
        if run.status == "completed":
            self._check_hook("completed", run, self.shapes.bot_login)
        self._settle_suite(suite)
        return run

    def update_check_run(self, run: CheckRunState, fields: dict[str, Any]) -> None:
        was = run.status
        self._apply(run, fields)
        if run.status == "completed" and was != "completed":
            self._check_hook("completed", run, self.shapes.bot_login)
        self._settle_suite(self.suites[run.suite_id])

    def rerequest(self, run: CheckRunState, *, user: str) -> None:
        # The payload shows the run as the user saw it when asking; then the suite goes back to queued.
        self._check_hook("rerequested", run, user)
        suite = self.suites[run.suite_id]
        suite.status, suite.conclusion, suite.updated_at = "queued", None, utcnow()

    def requested_action(self, run: CheckRunState, *, identifier: str, user: str) -> None:
        if not any(a.get("identifier") == identifier for a in run.actions):
            raise Invalid(f"check run {run.id} offers no action {identifier!r}")
        self._check_hook("requested_action", run, user, requested_action={"identifier": identifier})

    def _apply(self, run: CheckRunState, fields: dict[str, Any]) -> None:
        status = fields.get("status")
        if status in ACTIONS_ONLY_STATUSES:
            raise Invalid(f"status {status!r} can only be set by GitHub Actions")
        if status is not None and status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}")
        conclusion = fields.get("conclusion")
        if conclusion is not None and conclusion not in CONCLUSIONS:
            raise Invalid(f"conclusion must be one of {', '.join(CONCLUSIONS)}")
        if status == "completed" and conclusion is None and run.conclusion is None:
            raise Invalid("conclusion is required when status is completed")
        output = fields.get("output")
        if output is not None:
            if not output.get("title"):
                raise Invalid("output.title is required")
            for key in ("summary", "text"):
                if len(output.get(key) or "") > 65535:
                    raise Invalid(f"output.{key} is too long (maximum is 65535 characters)")
            if len(output.get("annotations") or []) > 50:
                raise Invalid("output.annotations: at most 50 per request")
            run.title, run.summary = output.get("title"), output.get("summary")
            run.text = output.get("text", run.text)
            run.annotations_count += len(output.get("annotations") or [])
        actions = fields.get("actions")
        if actions is not None:
            limits = {"label": 20, "description": 40, "identifier": 20}
            if len(actions) > 3 or any(len(str(a.get(k) or "")) > n for a in actions for k, n in limits.items()):
                raise Invalid("actions: at most 3, with label <= 20, description <= 40, identifier <= 20 characters")
            run.actions = [{k: str(a[k]) for k in limits} for a in actions]
        for key in ("details_url", "external_id", "name"):
            if key in fields:
                setattr(run, key, fields[key])
        if "started_at" in fields:
            run.started_at = _parse_time(fields["started_at"])
        if status is not None:
            run.status = status
        if conclusion is not None:
            # GitHub: providing a conclusion sets the status to completed.
            run.conclusion, run.status = conclusion, "completed"
        if run.status == "completed":
            run.completed_at = _parse_time(fields.get("completed_at")) or run.completed_at or utcnow()

    def _settle_suite(self, suite: CheckSuiteState) -> None:
        runs = [r for r in self.check_runs.values() if r.suite_id == suite.id]
        suite.updated_at = utcnow()
        if runs and all(r.status == "completed" for r in runs):
            if suite.status != "completed":
                order = ("action_required", "cancelled", "timed_out", "failure", "neutral", "skipped", "success")
                suite.conclusion = min((r.conclusion or "success" for r in runs), key=order.index)
                suite.status = "completed"
                body = {
                    "action": "completed",
                    "check_suite": self.shapes.check_suite(suite, runs_count=len(runs), webhook=True),
                }
                self.hub.send("check_suite", body, sender=self.shapes.bot_login)
        elif any(r.status == "in_progress" for r in runs):
            suite.status, suite.conclusion = "in_progress", None
        else:
            suite.status, suite.conclusion = "queued", None

    def _check_hook(self, action: str, run: CheckRunState, sender: str, **extra: Any) -> None:
        body = {"action": action, "check_run": self.check_json(run), **extra}
        self.hub.send("check_run", body, sender=sender)
