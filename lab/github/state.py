"""The simulated GitHub's in-memory state: workflow runs and jobs, check runs and suites, issues, comments,
reactions and runners. Plain data; the engine and the REST handlers change it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_s(moment: datetime | None) -> str | None:
    """GitHub's API timestamps: whole seconds, truncated, `Z`."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_step(moment: datetime | None) -> str | None:
    """Step timestamps as GitHub shows them: `.000Z`, milliseconds always zero."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def stable_id(text: str, *, base: int = 10_000_000) -> int:
    """A stable numeric id for a named thing (user, repository), so ids survive a lab restart."""
    return base + zlib.crc32(text.encode()) % 90_000_000


@dataclass(kw_only=True)
class Progress:
    """GitHub's life cycle of a step, a job and a check run: queued, in progress, completed with a conclusion."""

    status: str = "queued"
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass
class StepState(Progress):
    number: int
    name: str


@dataclass
class JobState(Progress):
    id: int
    run_id: int
    key: str  # the job's id in the workflow
    name: str
    spec: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    runner_id: int | None = None
    runner_name: str | None = None
    runner_group_id: int | None = None
    runner_group_name: str | None = None
    steps: list[StepState] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    check_run_id: int = 0
    offered_to: str | None = None  # session id
    offered_at: float = 0.0  # monotonic
    queued_since: float = 0.0  # monotonic
    declined_by: set[str] = field(default_factory=set)
    held: bool = False  # pending in a job-level concurrency group
    group: str | None = None
    message: str | None = None  # why it was cancelled or failed
    log: list[str] = field(default_factory=list)  # the lines its runner wrote, each after its timestamp


@dataclass
class RunState:
    id: int
    run_number: int
    workflow_id: int
    path: str
    name: str
    display_title: str
    event: str
    head_sha: str
    head_branch: str
    actor: str
    inputs: dict[str, str]
    spec: dict[str, Any]
    check_suite_id: int
    status: str = "queued"
    conclusion: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    run_started_at: datetime = field(default_factory=utcnow)
    jobs: dict[str, JobState] = field(default_factory=dict)
    group: str | None = None
    message: str | None = None
    requested_sent: bool = False
    in_progress_sent: bool = False


@dataclass
class CheckRunState(Progress):
    id: int
    name: str
    head_sha: str
    suite_id: int
    app_owned: bool
    external_id: str = ""
    details_url: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations_count: int = 0
    actions: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CheckSuiteState:
    id: int
    head_sha: str
    head_branch: str
    app_owned: bool
    status: str = "queued"
    conclusion: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


@dataclass
class CommentState:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    reactions: dict[tuple[str, str], int] = field(default_factory=dict)  # (login, content) -> reaction id


@dataclass
class IssueState:
    number: int
    title: str
    body: str
    user: str
    labels: list[str] = field(default_factory=list)
    state: str = "open"
    is_pull: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    comments: int = 0


@dataclass
class RunnerState:
    id: int
    name: str
    labels: list[str]
    token: str
    hosted: bool = False
    online: bool = False
    session_id: str | None = None
    last_seen: float = 0.0  # monotonic
    jobs: set[int] = field(default_factory=set)  # acquired, not yet completed
    offered: set[int] = field(default_factory=set)

    @property
    def busy(self) -> bool:
        return bool(self.jobs)
