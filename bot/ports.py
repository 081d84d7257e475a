"""The small typed interfaces through which the bot and the scenarios see every outside system (GitHub, SSH, the
HTTP health endpoints, Prometheus/Alertmanager/Grafana, JIRA) and the clock, with the values that cross them.

Each has one real adapter (bot/github/ for GitHub, bot/adapters/ for the others) and one fake in tests/fakes/;
the composition root (bot/runtime/) picks the adapters. Two more ports face inwards: `Engine` (how the handlers
hand work to the scenarios, implemented in scenarios/) and `Reporter` (how progress and results reach check runs,
the PR comment and JIRA, implemented in bot/reporting/), so the ground floor needs neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.github.models import Issue, PullRequest, Runner, WorkflowJob, WorkflowRun
from bot.model import ScenarioId, ScenarioStatus, Trigger, Verification
from bot.settings_model import EnvironmentSettings


# --------------------------------------------------------------------------------------------------- GitHub
class GitHubError(Exception):
    """A GitHub API call failed after retries. `status` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


#: A check run's status (queued, in_progress, completed): the Checks API's words, which a scenario's status uses too,
#: so each scenario's check run shows its status as it is.
CheckRunStatus = ScenarioStatus


class CheckRunConclusion(StrEnum):
    """How a completed check run ended, in the Checks API's words (the ones verify-staging sends)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckRunOutput:
    title: str
    summary: str
    text: str | None = None


@dataclass(frozen=True)
class CheckRunAction:
    label: str  # <= 20 characters
    description: str  # <= 40 characters
    identifier: str  # <= 20 characters


@dataclass(frozen=True)
class NewCheckRun:
    """A check run to create: the fields of GitHub's `POST /repos/{owner}/{repo}/check-runs` the bot sets."""

    name: str
    head_sha: str
    status: CheckRunStatus
    external_id: str
    output: CheckRunOutput
    actions: Sequence[CheckRunAction] = ()
    details_url: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class CheckRunUpdate:
    """What changes on a check run; None leaves a field as it is (`PATCH .../check-runs/{id}`)."""

    status: CheckRunStatus | None = None
    conclusion: CheckRunConclusion | None = None
    output: CheckRunOutput | None = None
    actions: Sequence[CheckRunAction] | None = None
    completed_at: datetime | None = None


class GitHubRepo(Protocol):
    """GitHub as one installation sees one repository. Every method is one REST call (plus retries)."""

    installation_id: int
    repository: str  # owner/name

    async def dispatch_workflow(self, *, workflow: str, ref: str, inputs: Mapping[str, str]) -> int | None:
        """Dispatch; returns the run id when GitHub reports it (`return_run_details`), else None."""
        ...

    async def get_run(self, run_id: int) -> WorkflowRun: ...

    async def list_runs(self, *, workflow: str, event: str, created_since: datetime) -> list[WorkflowRun]: ...

    async def list_jobs(self, run_id: int) -> list[WorkflowJob]: ...

    async def job_log(self, job_id: int) -> str:
        """The job's log as plain text (GitHub answers 302 to a short-lived URL, fetched without the token)."""
        ...

    async def cancel_run(self, run_id: int) -> None:
        """POST /repos/{o}/{r}/actions/runs/{id}/cancel (a run left queued forever must not stay behind)."""
        ...

    async def list_runners(self) -> list[Runner]: ...

    async def list_issues(self, *, labels: Sequence[str], since: datetime) -> list[Issue]: ...

    async def get_pull_request(self, number: int) -> PullRequest: ...

    async def get_permission(self, user: str) -> str:
        """admin | maintain | write | triage | read | none (role_name when present, else the legacy permission)."""
        ...

    async def is_team_member(self, *, org: str, team: str, user: str) -> bool: ...

    async def get_file(self, path: str, *, ref: str | None = None) -> str | None:
        """Text of a file in the repository (None when it does not exist)."""
        ...

    async def add_reaction(self, comment_id: int, content: str) -> None: ...

    async def create_comment(self, issue_number: int, body: str) -> int: ...

    async def update_comment(self, comment_id: int, body: str) -> None: ...

    async def create_check_run(self, check: NewCheckRun) -> int: ...

    async def update_check_run(self, check_run_id: int, update: CheckRunUpdate) -> None: ...

    # Issue 15: a scheduled verification verifies a branch's head and reports to a tracking issue.
    async def default_branch(self) -> str:
        """The repository's default branch (`GET /repos/{owner}/{repo}`)."""
        ...

    async def branch_head(self, branch: str) -> str:
        """The SHA of the branch's head commit (`GET /repos/{owner}/{repo}/branches/{branch}`)."""
        ...

    async def create_issue(self, *, title: str, body: str, labels: Sequence[str]) -> int:
        """Open an issue; its number."""
        ...


class GitHubApp(Protocol):
    """Hands out per-installation repository clients (installation tokens are cached inside)."""

    def repo(self, *, installation_id: int, repository: str) -> GitHubRepo: ...


# --------------------------------------------------------------------------------------------------- SSH
class SSHErrorKind(StrEnum):
    """Why an SSH command could not be carried out.

    unreachable, host-key and auth mean the command was never sent; timeout and lost (the connection broke while
    the command ran) mean it may have run.
    """

    UNREACHABLE = "unreachable"
    HOST_KEY = "host-key"
    AUTH = "auth"
    TIMEOUT = "timeout"
    LOST = "lost"
    OTHER = "other"


class SSHError(Exception):
    """The command could not be carried out on `host`, for the reason `kind` says."""

    def __init__(self, message: str, *, host: str, kind: SSHErrorKind) -> None:
        super().__init__(message)
        self.host = host
        self.kind = kind


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class SSHPort(Protocol):
    async def run(
        self, host: str, argv: Sequence[str], *, timeout: float | None = None, fresh: bool = False
    ) -> CommandResult:
        """Run argv (quoted with shlex.join, never a string from a comment) on a host named in settings.

        fresh: open a new connection for it (an undo must not ride on a connection that may be half dead).
        """
        ...


# --------------------------------------------------------------------------------------------------- HTTP health
@dataclass(frozen=True)
class ProbeResult:
    """One GET of a page: its HTTP status, or why there was no answer."""

    url: str
    status: int | None  # None: no HTTP answer
    error: str | None  # "connection refused", "timeout after 5s", ...
    elapsed: float


@dataclass(frozen=True)
class Health:
    """What a Spring Boot Actuator health endpoint said: `answered` False when there was no HTTP answer at all.

    `status` is the overall status the body reports (`HTTP 503` when the answer was not Actuator JSON), and
    `components` each component's status by name.
    """

    answered: bool
    status: str | None
    components: Mapping[str, str]
    error: str | None

    def up(self, required: tuple[str, ...]) -> bool:
        return self.status == "UP" and all(self.components.get(c) == "UP" for c in required)

    def describe(self) -> str:
        if not self.answered:
            return f"no answer ({self.error})"
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.components.items()))
        return f"{self.status}" + (f" ({parts})" if parts else "")


class HttpProbe(Protocol):
    """Staging's HTTP endpoints as the scenarios ask them. Never raises: no answer is an answer too."""

    async def get(self, url: str, *, timeout: float) -> ProbeResult:
        """A page: whether and with which status it answers."""
        ...

    async def health(self, url: str, *, timeout: float) -> Health:
        """An Actuator health endpoint (`/actuator/health`), read."""
        ...

    async def version(self, url: str, *, timeout: float) -> str | None:
        """`build.version` of an Actuator info endpoint (`/actuator/info`), or `version` of a `{"version": ...}`
        document (a frontend's version URL); None when it reports none or is silent."""
        ...


# --------------------------------------------------------------------------------------------------- monitoring
class MonitoringError(Exception):
    """Prometheus, Alertmanager or Grafana could not be asked (unreachable, bad answer)."""


@dataclass(frozen=True)
class AlertRule:
    name: str
    group: str
    for_seconds: float
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


@dataclass(frozen=True)
class PromAlert:
    name: str
    state: str  # pending | firing
    labels: Mapping[str, str]
    active_at: datetime | None


@dataclass(frozen=True)
class AmAlert:
    name: str
    state: str  # active | suppressed | unprocessed
    labels: Mapping[str, str]
    receivers: tuple[str, ...]
    starts_at: datetime | None


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class PanelQueryResult:
    panel_id: int
    title: str
    series: int  # frames/series returned
    points: int  # non-null values returned over all series
    error: str | None = None
    #: The panel's PromQL queries (issue 15 §4: dashboard-data leaves out panels of verify-staging's own verdicts).
    queries: tuple[str, ...] = ()


class PrometheusPort(Protocol):
    async def rules(self) -> list[AlertRule]: ...

    async def alerts(self) -> list[PromAlert]: ...

    async def query(self, expr: str) -> list[Sample]: ...


class AlertmanagerPort(Protocol):
    async def alerts(self) -> list[AmAlert]: ...

    async def receivers(self) -> list[str]: ...

    async def notifications_sent(self) -> dict[str, float]:
        """alertmanager_notifications_total by integration (from its own /metrics)."""
        ...

    async def notifications_failed(self) -> dict[str, float]: ...


class GrafanaPort(Protocol):
    async def query_dashboard(self, uid: str) -> list[PanelQueryResult]:
        """Every panel of the dashboard, each queried through Grafana's own query API."""
        ...


#: The monitoring an environment's settings point at (bot/adapters/monitoring.py builds the real ones).
MonitoringFactory = Callable[[EnvironmentSettings], tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]]


# --------------------------------------------------------------------------------------------------- JIRA
class JiraError(Exception):
    """JIRA refused or could not be reached."""


@dataclass(frozen=True)
class JiraTransition:
    id: str
    name: str
    to_status: str


@dataclass(frozen=True)
class JiraAttachment:
    id: str
    filename: str
    size: int
    #: Uploaded by the JIRA user the bot acts as (only those may ever be replaced by the bot).
    mine: bool


class JiraPort(Protocol):
    async def status(self, key: str) -> str: ...

    async def transitions(self, key: str) -> list[JiraTransition]: ...

    async def do_transition(self, key: str, transition_id: str) -> None: ...

    async def add_comment(self, key: str, body: str) -> str: ...

    async def attachments(self, key: str) -> list[JiraAttachment]:
        """The files attached to the issue (its `attachment` field)."""
        ...

    async def add_attachment(self, key: str, *, filename: str, content: bytes) -> JiraAttachment: ...

    async def delete_attachment(self, attachment_id: str) -> None: ...


# --------------------------------------------------------------------------------------------------- clock
class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


# --------------------------------------------------------------------------------------------------- engine
@dataclass(frozen=True)
class VerificationRequest:
    """An accepted /verify-staging command, handed to the engine."""

    verification_id: str
    installation_id: int
    repository: str
    pull_request: int
    head_sha: str
    ref: str
    environment: str
    requested_by: str
    scenarios: tuple[ScenarioId, ...]
    jira_issue: str | None = None
    comment_id: int | None = None  # the comment that asked
    title: str | None = None  # the pull request's title (its author's text)
    trigger: Trigger = Trigger.COMMENT
    tracking_issue: int | None = None  # where a scheduled verification (pull_request 0) reports


@dataclass(frozen=True)
class ProgressEvent:
    """What the engine tells the reporters as it goes: `scenario` changed (a step began or ended, it started or
    concluded); the reporters render it from the verification itself."""

    verification: Verification
    scenario: ScenarioId | None = None


class Engine(Protocol):
    """The scenario engine as the handlers see it (scenarios/engine.py implements it)."""

    async def start(self, request: VerificationRequest) -> None:
        """Begin the verification in the background; returns once it is recorded."""
        ...

    async def abort(self, verification_id: str, *, by: str, reason: str | None = None) -> bool:
        """Ask a running verification to stop at the next safe point and restore; False if none was running.
        `reason` (a clause, e.g. the pull request's head moved) replaces "Aborted by <by>" in what is reported."""
        ...

    def observe_run(self, *, installation_id: int, repository: str, run: WorkflowRun) -> None: ...

    def observe_job(self, *, installation_id: int, repository: str, job: WorkflowJob) -> None: ...

    def running(self, environment: str) -> str | None:
        """The verification id running in this environment, if any."""
        ...


class Reporter(Protocol):
    """Told about progress; renders it where people look (check runs, PR comment, JIRA)."""

    async def started(self, verification: Verification) -> None: ...

    async def progress(self, event: ProgressEvent) -> None: ...

    async def finished(self, verification: Verification) -> None: ...
