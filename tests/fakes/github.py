"""A GitHub stand-in for unit tests (bot.ports.GitHubApp / GitHubRepo): one repository's runs, jobs, runners,
issues, pull requests, comments, reactions and check runs, and jobs' logs (`logs`, by job id), held in memory.

Every method counts as one REST call (on the verification's tally, as the real transport counts) and is logged
in `calls`. `put_run` / `put_job` store a new
state of a run or job and hand it to every `listeners` entry, the way GitHub sends `workflow_run` / `workflow_job`
webhooks. `on_dispatch` (a workflow simulator, e.g. tests/scenarios/pipeline.py) decides what a dispatch creates;
without it a dispatch is only recorded. `fail_next = n` makes the next n calls answer 502; `down` makes all fail.
Timestamps are whole seconds, as GitHub's are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.accounting import count_request
from bot.doctor.manifest import REQUIRED_EVENTS, REQUIRED_PERMISSIONS
from bot.github.app_info import AppFacts, AppGrants, InstallationFacts
from bot.github.models import Issue, PullRequest, Runner, WorkflowJob, WorkflowRun
from bot.ports import (
    CheckRunAction,
    CheckRunConclusion,
    CheckRunOutput,
    CheckRunStatus,
    CheckRunUpdate,
    Clock,
    GitHubError,
    NewCheckRun,
)
from tests.fakes.clock import FakeClock


@dataclass(frozen=True)
class DispatchCall:
    workflow: str
    ref: str
    inputs: dict[str, str]


@dataclass
class FakeComment:
    id: int
    issue_number: int
    body: str


@dataclass
class FakeCheckRun:
    id: int
    name: str
    head_sha: str
    status: CheckRunStatus
    external_id: str
    output: CheckRunOutput
    actions: tuple[CheckRunAction, ...] = ()
    conclusion: CheckRunConclusion | None = None
    details_url: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


def gh_time(clock: Clock) -> datetime:
    """GitHub's timestamps are truncated to whole seconds."""
    return clock.now().replace(microsecond=0)


@dataclass
class Call:
    """One call made of the fake, with its arguments."""

    method: str
    args: dict[str, Any]


@dataclass
class FakeGitHubRepo:
    """bot.ports.GitHubRepo in memory."""

    repository: str = "paws360/paws360"
    installation_id: int = 1001
    clock: Clock = field(default_factory=FakeClock)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    jobs: dict[int, WorkflowJob] = field(default_factory=dict)
    runners: dict[str, Runner] = field(default_factory=dict)
    #: job id -> the job's log as GitHub serves it (plain text); a job without one answers 404.
    logs: dict[int, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    pull_requests: dict[int, PullRequest] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)  # user -> admin | write | read ...
    teams: dict[str, set[str]] = field(default_factory=dict)  # "org/team" -> members
    files: dict[str, str] = field(default_factory=dict)
    comments: dict[int, FakeComment] = field(default_factory=dict)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    check_runs: dict[int, FakeCheckRun] = field(default_factory=dict)
    dispatches: list[DispatchCall] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    #: Every call with the arguments that matter to reports (comments, check runs), in order.
    log: list[Call] = field(default_factory=list)
    #: Methods that answer 502 every time (a GitHub that refuses, e.g., all check-run writes).
    fail: set[str] = field(default_factory=set)
    listeners: list[Callable[[WorkflowRun | WorkflowJob], None]] = field(default_factory=list)
    on_dispatch: Callable[[DispatchCall], int | None] | None = None
    on_cancel: Callable[[int], None] | None = None
    return_run_id: bool = True
    fail_next: int = 0
    down: bool = False
    #: Issue 15: branch -> head SHA, and the default branch, for scheduled verifications.
    branches: dict[str, str] = field(default_factory=dict)
    default: str = "main"
    _next_id: int = 1000

    def _call(self, what: str, **args: Any) -> None:
        self.calls.append(what)
        self.log.append(Call(what, args))
        count_request()  # as the real transport does, so per-verification tallies see fake calls too
        if what in self.fail:
            raise GitHubError(f"{what} failed", status=502)
        if self.down:
            raise GitHubError(f"{what}: GitHub unreachable", status=None)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise GitHubError(f"{what}: 502 Bad Gateway", status=502)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.log if c.method == method]

    def check_updates(self, check_run_id: int) -> list[Call]:
        return [c for c in self.of("update_check_run") if c.args["check_run_id"] == check_run_id]

    def body(self, comment_id: int | None) -> str:
        assert comment_id is not None
        return self.comments[comment_id].body

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # ------------------------------------------------------------------------------------------- world side
    def put_run(self, run: WorkflowRun) -> None:
        self.runs[run.id] = run
        for listener in list(self.listeners):
            listener(run)

    def put_job(self, job: WorkflowJob) -> None:
        self.jobs[job.id] = job
        for listener in list(self.listeners):
            listener(job)

    def set_runner(self, name: str, *, status: str | None = None, busy: bool | None = None) -> None:
        old = self.runners[name]
        self.runners[name] = replace(
            old, status=old.status if status is None else status, busy=old.busy if busy is None else busy
        )

    def add_issue(self, *, title: str, labels: Sequence[str]) -> Issue:
        issue = Issue(self.new_id(), title, "open", tuple(labels), gh_time(self.clock), None, False)
        self.issues.append(issue)
        return issue

    # ------------------------------------------------------------------------------------------- Actions
    async def dispatch_workflow(self, *, workflow: str, ref: str, inputs: Mapping[str, str]) -> int | None:
        self._call("dispatch_workflow")
        call = DispatchCall(workflow, ref, dict(inputs))
        self.dispatches.append(call)
        run_id = self.on_dispatch(call) if self.on_dispatch else None
        return run_id if self.return_run_id else None

    async def get_run(self, run_id: int) -> WorkflowRun:
        self._call("get_run")
        if run_id not in self.runs:
            raise GitHubError(f"run {run_id}: 404 Not Found", status=404)
        return self.runs[run_id]

    async def list_runs(self, *, workflow: str, event: str, created_since: datetime) -> list[WorkflowRun]:
        self._call("list_runs")
        return [
            r
            for r in self.runs.values()
            if r.event == event
            and (r.path or "").endswith(workflow)
            and r.created_at is not None
            and r.created_at >= created_since
        ]

    async def list_jobs(self, run_id: int) -> list[WorkflowJob]:
        self._call("list_jobs")
        return sorted((j for j in self.jobs.values() if j.run_id == run_id), key=lambda j: j.id)

    async def job_log(self, job_id: int) -> str:
        self._call("job_log", job_id=job_id)
        if job_id not in self.logs:
            raise GitHubError(f"GET the log of job {job_id} failed: Not Found", status=404)
        return self.logs[job_id]

    async def cancel_run(self, run_id: int) -> None:
        self._call("cancel_run")
        self.cancelled.append(run_id)
        if self.on_cancel is not None:
            self.on_cancel(run_id)

    async def list_runners(self) -> list[Runner]:
        self._call("list_runners")
        return list(self.runners.values())

    # ------------------------------------------------------------------------------------------- issues, PRs
    async def list_issues(self, *, labels: Sequence[str], since: datetime) -> list[Issue]:
        self._call("list_issues")
        return [
            i for i in self.issues if set(labels) <= set(i.labels) and (i.created_at is None or i.created_at >= since)
        ]

    async def create_issue(self, *, title: str, body: str, labels: Sequence[str]) -> int:
        self._call("create_issue", title=title, body=body, labels=list(labels))
        return self.add_issue(title=title, labels=labels).number

    async def default_branch(self) -> str:
        self._call("default_branch")
        return self.default

    async def branch_head(self, branch: str) -> str:
        self._call("branch_head", branch=branch)
        if branch not in self.branches:
            raise GitHubError(f"branch {branch}: 404 Branch not found", status=404)
        return self.branches[branch]

    async def get_pull_request(self, number: int) -> PullRequest:
        self._call("get_pull_request")
        if number not in self.pull_requests:
            raise GitHubError(f"pull request {number}: 404 Not Found", status=404)
        return self.pull_requests[number]

    async def get_permission(self, user: str) -> str:
        self._call("get_permission")
        return self.permissions.get(user, "none")

    async def is_team_member(self, *, org: str, team: str, user: str) -> bool:
        self._call("is_team_member")
        return user in self.teams.get(f"{org}/{team}", set())

    async def get_file(self, path: str, *, ref: str | None = None) -> str | None:
        self._call("get_file")
        return self.files.get(path)

    async def add_reaction(self, comment_id: int, content: str) -> None:
        self._call("add_reaction")
        self.reactions.append((comment_id, content))

    async def create_comment(self, issue_number: int, body: str) -> int:
        self._call("create_comment", issue_number=issue_number, body=body)
        comment = FakeComment(self.new_id(), issue_number, body)
        self.comments[comment.id] = comment
        return comment.id

    async def update_comment(self, comment_id: int, body: str) -> None:
        self._call("update_comment", comment_id=comment_id, body=body)
        self.comments[comment_id].body = body

    # ------------------------------------------------------------------------------------------- checks
    async def create_check_run(self, check: NewCheckRun) -> int:
        self._call(
            "create_check_run",
            name=check.name,
            head_sha=check.head_sha,
            status=check.status,
            external_id=check.external_id,
            output=check.output,
            actions=list(check.actions),
        )
        run = FakeCheckRun(
            self.new_id(),
            check.name,
            check.head_sha,
            check.status,
            check.external_id,
            check.output,
            tuple(check.actions),
            None,
            check.details_url,
            check.started_at,
        )
        self.check_runs[run.id] = run
        return run.id

    async def update_check_run(self, check_run_id: int, update: CheckRunUpdate) -> None:
        actions = update.actions
        self._call(
            "update_check_run",
            check_run_id=check_run_id,
            status=update.status,
            conclusion=update.conclusion,
            output=update.output,
            actions=None if actions is None else list(actions),
        )
        run = self.check_runs[check_run_id]
        if update.conclusion is not None:
            # A conclusion completes the run, as on GitHub.
            run.conclusion, run.status = update.conclusion, CheckRunStatus.COMPLETED
        elif update.status is not None:
            run.status = update.status
        run.output = update.output or run.output
        run.actions = tuple(actions) if actions is not None else run.actions
        run.completed_at = update.completed_at or run.completed_at


def full_grants() -> AppGrants:
    """Exactly what app.yml asks for."""
    return AppGrants(permissions=dict(REQUIRED_PERMISSIONS), events=REQUIRED_EVENTS)


@dataclass
class FakeGitHubApp:
    """bot.ports.GitHubApp handing out FakeGitHubRepo objects (created on first use); and the App's own facts
    (bot/github/app_info.py): `GET /app` answers `grants` (401 when `jwt_refused`), and the installation on a
    repository is the one in `installations` (repository -> (id, grants or None for the App's)), else 404."""

    clock: Clock = field(default_factory=FakeClock)
    repos: dict[str, FakeGitHubRepo] = field(default_factory=dict)
    grants: AppGrants = field(default_factory=full_grants)
    jwt_refused: bool = False
    installations: dict[str, tuple[int, AppGrants | None]] = field(default_factory=dict)

    async def app(self) -> AppFacts:
        if self.jwt_refused:
            raise GitHubError("GET /app answered 401", status=401)
        return AppFacts(slug="verify-staging", grants=self.grants)

    async def installation(self, repository: str) -> InstallationFacts:
        if self.jwt_refused:
            raise GitHubError("GET /repos/{owner}/{repo}/installation answered 401", status=401)
        if repository.lower() not in self.installations:
            raise GitHubError("GET /repos/{owner}/{repo}/installation answered 404", status=404)
        installation_id, grants = self.installations[repository.lower()]
        return InstallationFacts(id=installation_id, grants=grants)

    def repo(self, *, installation_id: int, repository: str) -> FakeGitHubRepo:
        key = repository.lower()
        if key not in self.repos:
            self.repos[key] = FakeGitHubRepo(repository=repository, installation_id=installation_id, clock=self.clock)
        return self.repos[key]
