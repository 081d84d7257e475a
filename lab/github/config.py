"""Everything the lab world decides about its simulated GitHub: repository, App, users, runners, workflows, faults
and lab time. `SimConfig` is the one input of `lab.github.server.start_github`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from lab.truth import Truth


class Permission(StrEnum):
    """A user's repository role, highest first, as the collaborator-permission endpoint's `role_name` spells it."""

    ADMIN = "admin"
    MAINTAIN = "maintain"
    WRITE = "write"
    TRIAGE = "triage"
    READ = "read"
    NONE = "none"

    @property
    def legacy(self) -> Permission:
        """The legacy `permission` field's value: GitHub documents that it maps the maintain role to write and the
        triage role to read ("Get repository permissions for a user"; use `role_name` for the real role)."""
        return {Permission.MAINTAIN: Permission.WRITE, Permission.TRIAGE: Permission.READ}.get(self, self)

    def at_least(self, minimum: Permission) -> bool:
        """Whether this role is `minimum` or higher (admin > maintain > write > triage > read > none)."""
        ladder = list(Permission)
        return ladder.index(self) <= ladder.index(minimum)


@dataclass(frozen=True)
class UserSpec:
    """A GitHub user of the lab; `token` is a personal access token the simulated GitHub accepts as this user."""

    login: str
    permission: Permission = Permission.READ
    type: str = "User"  # User | Bot
    token: str = ""


@dataclass(frozen=True)
class PullSpec:
    number: int
    title: str
    head_ref: str
    head_sha: str
    base: str = "main"
    author: str = ""
    from_fork: bool = False
    body: str = ""


@dataclass(frozen=True)
class RunnerSpec:
    """A self-hosted runner registered with the repository; the agent presents `token` to start a session."""

    name: str
    labels: tuple[str, ...]
    token: str


@dataclass(frozen=True)
class DeliveryFaults:
    """Webhook delivery faults (contract faults `webhook-loss`, `webhook-chaos`); shares are 0..1."""

    drop_share: float = 0.0
    duplicate_share: float = 0.0
    max_delay: float = 0.0  # each delivery waits a random 0..max_delay seconds; different waits reorder them
    seed: int = 7


@dataclass(frozen=True)
class FlakyFaults:
    """REST faults (contract fault `github-flaky`)."""

    error_share: float = 0.0  # share of REST calls answered 502
    rate_limit_every: float = 0.0  # seconds; 0 = never. The first call of each period answers 403 + Retry-After
    retry_after: int = 1
    seed: int = 11


@dataclass(frozen=True)
class Timing:
    """Lab time, in seconds. GitHub's own values in comments."""

    acquire_timeout: float = 5.0  # GitHub: 60 s for a runner to take an offered job before it is re-queued
    queue_timeout: float = 120.0  # GitHub: 24 h in the queue with no matching runner, then the job fails
    heartbeat_timeout: float = 4.0  # undocumented on GitHub: how long a silent runner stays online
    long_poll: float = 2.0  # GitHub: 50 s runner long poll
    heartbeat_interval: float = 1.0  # how often an agent running a job says it is alive
    tick: float = 0.05  # how often the scheduler checks timeouts
    token_ttl: float = 3600.0  # installation token lifetime (GitHub: 1 h)


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulated GitHub needs. Ids and secrets come from the lab world."""

    workdir: Path
    truth: Truth
    app_id: int
    app_slug: str
    app_public_key_pem: str
    installation_id: int
    webhook_secret: str
    repository: str  # owner/name, from the topology
    default_branch: str = "main"
    app_client_id: str = "Iv1.lab0000000000"
    app_permissions: dict[str, str] = field(default_factory=dict)  # app.yml default_permissions
    app_events: tuple[str, ...] = (
        "check_run",
        "check_suite",
        "issue_comment",
        "workflow_run",
        "workflow_job",
    )
    users: tuple[UserSpec, ...] = ()
    teams: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "org/slug" -> member logins
    pull_requests: tuple[PullSpec, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # path -> text, at the default branch
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)  # ".github/workflows/x.yml" -> YAML as data
    runners: tuple[RunnerSpec, ...] = ()
    hosted_labels: tuple[str, ...] = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04")
    hosted_token: str = "hosted-pool-token"
    webhook_url: str | None = None
    delivery: DeliveryFaults = field(default_factory=DeliveryFaults)
    flaky: FlakyFaults = field(default_factory=FlakyFaults)
    timing: Timing = field(default_factory=Timing)
    default_api_version: str = "2022-11-28"  # what a dispatch without X-GitHub-Api-Version is answered as
    send_pending_webhooks: bool = False  # GitHub documents no webhook for runs held pending by a concurrency group
    job_env: dict[str, str] = field(default_factory=dict)  # lab world facts handed to every job's steps
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    head_sha: str = "0" * 40  # the default branch's head commit
    # Where every REST answer is written (JSON lines; lab/github/strict.py), or None: not recorded.
    answers_log: Path | None = None

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def repo_name(self) -> str:
        return self.repository.split("/", 1)[1]
