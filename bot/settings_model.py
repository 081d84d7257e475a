"""The typed settings: what `load_settings()` (bot/settings.py) builds from the settings file and the environment.

Frozen dataclasses, so a running bot can never change where it points. Defaults are the seed's (T042).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.model import ScenarioId
from bot.permissions import Permission


class RunnerRole(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


@dataclass(frozen=True)
class RunnerSettings:
    name: str
    role: RunnerRole
    labels: tuple[str, ...]
    host: str  # a key of ssh.hosts
    service: str  # systemd unit (glob allowed, e.g. actions.runner.*.service; expanded before a stop)


@dataclass(frozen=True)
class BackendSettings:
    host: str
    service: str
    health_url: str
    info_url: str
    required_components: tuple[str, ...] = ("db", "redis")


@dataclass(frozen=True)
class FrontendSettings:
    url: str
    #: Where the frontend reports its deployed version as JSON `{"version": ...}`; None: not checked.
    version_url: str | None = None


@dataclass(frozen=True)
class WorkflowJobs:
    deploy: str = "deploy"
    health_check: str = "health-check"
    rollback: str = "rollback"


@dataclass(frozen=True)
class WorkflowSettings:
    file: str
    ref: str | None
    inputs: dict[str, str]
    test_id_input: str = "test_id"
    jobs: WorkflowJobs = field(default_factory=WorkflowJobs)


@dataclass(frozen=True)
class MonitoringSettings:
    prometheus_url: str
    alertmanager_url: str
    grafana_url: str
    grafana_dashboard_uid: str
    alert_rules: tuple[str, ...] = ("RunnerOffline", "DeploymentFailed", "DeploymentDurationHigh")
    runner_offline_alert: str = "RunnerOffline"
    oncall_receiver: str = "oncall-sre"
    # How often Prometheus scrapes the bot's /metrics (Prometheus' default): a series the verification just
    # produced reaches the dashboard within a scrape and a query step, so dashboard-data waits a few of these.
    scrape_interval: float = 15.0


@dataclass(frozen=True)
class Thresholds:
    """Seconds. Defaults are the seed's (T042)."""

    deployment: float = 600
    failover: float = 30
    health_check: float = 120
    rollback: float = 300
    runner_offline_detection: float = 120
    alert_fire: float = 420
    notification: float = 120
    run_timeout: float = 1800
    #: issue 14 §3: a job of a verification run queued this long with no online runner that has its labels fails
    #: its scenario (`job-picked-up`) instead of waiting out `run_timeout`.
    queue: float = 120


@dataclass(frozen=True)
class RegressionSettings:
    """Issue 15 §3: a passing measurement is regressed when it is worse than its baseline, the median of its last
    `runs` passing runs in the environment (none before `min_runs`), by more than `ratio` of the baseline
    (0.5: 50 %) AND by more than `seconds`. With `fail`, a regression fails its scenario; otherwise it is shown."""

    ratio: float = 0.5
    seconds: float = 5
    runs: int = 10
    min_runs: int = 5
    fail: bool = False


@dataclass(frozen=True)
class ScheduleSettings:
    """issue 15 §1: a verification started by the clock (bot/cron.py reads `cron`)."""

    cron: str  # 5 fields, UTC, validated at load
    repository: str  # one of github.repositories whose environment this is
    scenarios: tuple[ScenarioId, ...] = tuple(ScenarioId)
    ref: str | None = None  # a branch name; None: the repository's default branch, asked of GitHub at each run
    #: The longest time between two due times of `cron` (bot/cron.py `Cron.period`): "stale" allows twice this.
    period: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class EnvironmentSettings:
    name: str
    workflow: WorkflowSettings
    runners: tuple[RunnerSettings, ...]
    backend: BackendSettings
    frontend: FrontendSettings
    monitoring: MonitoringSettings
    thresholds: Thresholds = field(default_factory=Thresholds)
    incident_label: str = "incident"
    regressions: RegressionSettings = field(default_factory=RegressionSettings)
    #: issue 15 §1: when the environment verifies itself with no one asking; None: only when asked.
    schedule: ScheduleSettings | None = None

    def runner(self, role: RunnerRole) -> RunnerSettings:
        for r in self.runners:
            if r.role is role:
                return r
        raise KeyError(role)


@dataclass(frozen=True)
class SSHHost:
    address: str
    port: int = 22


@dataclass(frozen=True)
class SSHSettings:
    user: str
    hosts: dict[str, SSHHost]
    connect_timeout: float = 10
    command_timeout: float = 30
    # issue 12: a glob may expand to at most this many units; failed undos are retried this often (seconds);
    # SSH keepalives find a dead connection before a command waits on it (seconds).
    max_units_per_pattern: int = 5
    undo_retry_interval: float = 30
    keepalive_interval: float = 15


@dataclass(frozen=True)
class RepositorySettings:
    environment: str


@dataclass(frozen=True)
class GitHubSettings:
    repositories: dict[str, RepositorySettings]  # owner/name -> settings
    api_version: str = "2022-11-28"
    runner_poll_interval: float = 30
    reconcile_after: float = 20
    #: How often the App's webhook delivery log is swept for failed deliveries to redeliver (also at start-up).
    redelivery_interval: float = 300


@dataclass(frozen=True)
class AuthorizationSettings:
    minimum_permission: Permission = Permission.ADMIN
    scenario_teams: dict[ScenarioId, str] = field(default_factory=dict)  # scenario -> org/team
    signoff_team: str | None = None  # org/team
    #: Issue 12 §7: seconds a person waits between `/verify-staging` commands on one repository (abort excepted).
    command_cooldown: float = 10
    allow_self_signoff: bool = False  # may an SRE sign off a pull request they opened
    #: A comment command older than this (seconds since GitHub created the comment) is not run: it arrived late,
    #: e.g. redelivered after the App was down, and the person who wrote it may no longer want it.
    command_max_age: float = 3600


@dataclass(frozen=True)
class JiraStatuses:
    in_progress: str = "In Progress"
    awaiting_signoff: str = "In Review"
    done: str = "Done"
    rejected: str = "To Do"
    #: Where `/sre-signoff revise <reason>` moves the issue.
    needs_revision: str = "To Do"


@dataclass(frozen=True)
class JiraSettings:
    issue: str | None
    statuses: JiraStatuses = field(default_factory=JiraStatuses)
    #: JIRA projects whose keys a PR title or branch may name (empty: the project of `issue`). PR authors write
    #: titles, so a key of any other project (`SEC-4711 cleanup`) is never touched.
    projects: tuple[str, ...] = ()

    @property
    def allowed_projects(self) -> frozenset[str]:
        if self.projects:
            return frozenset(self.projects)
        return frozenset({self.issue.rsplit("-", 1)[0]}) if self.issue else frozenset()


@dataclass(frozen=True)
class Secrets:
    """From the environment only. repr() never shows a value."""

    app_id: str
    private_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    api_url: str = "https://api.github.com"
    jira_url: str | None = None
    jira_token: str | None = field(default=None, repr=False)
    jira_user: str | None = None
    jira_password: str | None = field(default=None, repr=False)
    ssh_key_path: str | None = None
    ssh_known_hosts: str | None = None
    # issue 14 §1: Bearer tokens for monitoring behind authentication (Grafana refuses anonymous API calls).
    grafana_token: str | None = field(default=None, repr=False)
    prometheus_token: str | None = field(default=None, repr=False)
    alertmanager_token: str | None = field(default=None, repr=False)
    #: Issue 15 §2: the Bearer token that opens `GET /verifications(.json)` (unless server.history_public).
    history_token: str | None = field(default=None, repr=False)
    # issue 16 §1: PostgreSQL instead of the SQLite file (`database`); the URL may carry a password.
    database_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ServerSettings:
    """The webhook server's limits (issue 12 §7), so a flood of deliveries can neither exhaust memory nor delay job
    tracking behind comments."""

    body_timeout: float = 10  # seconds to receive a delivery's body (GitHub itself gives up after 10 s)
    max_requests: int = 32  # deliveries being received at once; more are answered 503 (each body is <= 5 MiB)
    event_queue: int = 1000  # accepted workflow_run/workflow_job/check_*/pull_request deliveries awaiting processing
    command_queue: int = 100  # accepted issue_comment deliveries awaiting processing
    event_workers: int = 4
    command_workers: int = 2
    retention_days: int = 30  # delivery ids are remembered (for deduplication) this long
    # issue 13 §4: the address people reach `serve` at; when set, it serves each verification's details page
    # (`/verifications/{id}`) and check runs link to it.
    public_url: str | None = None
    #: Issue 15 §2: `GET /verifications(.json)` lists every repository's verdicts. Served only when public_url is
    #: set, and then to anyone when true; otherwise only to requests carrying VERIFY_STAGING_HISTORY_TOKEN.
    history_public: bool = False


@dataclass(frozen=True)
class Settings:
    database: str
    github: GitHubSettings
    authorization: AuthorizationSettings
    jira: JiraSettings
    ssh: SSHSettings
    environments: dict[str, EnvironmentSettings]
    secrets: Secrets
    server: ServerSettings = field(default_factory=ServerSettings)
    # issue 16 §2: how long a replica's lease (a verification, a unit, a singleton job) outlives its last heartbeat
    database_lease_seconds: float = 30.0

    def environment_for(self, repository: str) -> EnvironmentSettings | None:
        for name, repo in self.github.repositories.items():
            if name.lower() == repository.lower():
                return self.environments.get(repo.environment)
        return None

    @property
    def store_location(self) -> str:
        """What `Store.open` opens: DATABASE_URL's PostgreSQL when set, else the SQLite file `database`."""
        return self.secrets.database_url or self.database
