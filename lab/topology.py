"""The lab's topology: which repository, users, runners, hosts, units and lab timings the simulated world has.

`load_topology(path)` reads a YAML file shaped like `lab/topology.default.yml` (the default when no path is
given) and raises `TopologyError` with one sentence naming the bad key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from lab.topology_checks import TopologyError as TopologyError
from lab.topology_checks import check_roles, deploy_labels, with_role_label

DEFAULT_TOPOLOGY = Path(__file__).with_name("topology.default.yml")


@dataclass(frozen=True)
class PullRequestTopo:
    number: int
    head_ref: str
    title: str
    author: str


@dataclass(frozen=True)
class AppTopo:
    id: int
    slug: str
    installation_id: int


@dataclass(frozen=True)
class UserTopo:
    login: str
    permission: str
    role: str  # authorized | unauthorized | sre | other


@dataclass(frozen=True)
class RunnerTopo:
    name: str
    role: str  # primary | secondary
    labels: tuple[str, ...]
    host: str
    unit: str
    #: The label that picks this runner for the deploy jobs (`role_label`, or the one label no other runner has).
    role_label: str = ""


@dataclass(frozen=True)
class BackendTopo:
    host: str
    unit: str
    frontend_unit: str
    initial_version: str
    #: More health components (name -> status) the backend reports, as an app's own health indicators would.
    extra_components: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class JiraTopo:
    issue: str
    summary: str
    status: str
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class LabTiming:
    """Seconds of lab time."""

    deploy_seconds: float = 2.0
    slow_deploy_seconds: float = 32.0
    health_check_timeout: float = 6.0
    health_check_interval: float = 0.5
    slow_failover_seconds: float = 16.0
    alert_for_scale: float = 0.02
    runner_heartbeat_timeout: float = 4.0
    acquire_timeout: float = 5.0
    long_poll: float = 2.0
    # A slowdown of failover that stays under thresholds.failover (8) but is over its lab baseline (0-1 s: GitHub's
    # timestamps are whole seconds) by more than 50 % and 5 s: `POST /_lab/faults {"fault": "slow-failover",
    # "on": true, "seconds": <this>}` makes failover regress (6-7 s measured), not fail.
    regressed_failover_seconds: float = 6.0


@dataclass(frozen=True)
class BotThresholds:
    """Written into the bot's settings; lab time."""

    deployment: float = 20
    failover: float = 8
    health_check: float = 15
    rollback: float = 15
    runner_offline_detection: float = 10
    alert_fire: float = 25
    notification: float = 10
    run_timeout: float = 120
    queue: float = 12


@dataclass(frozen=True)
class Topology:
    repository: str
    default_branch: str
    environment: str
    workflow_file: str
    pull_request: PullRequestTopo
    app: AppTopo
    users: tuple[UserTopo, ...]
    teams: dict[str, tuple[str, ...]]
    ssh_user: str
    runners: tuple[RunnerTopo, ...]
    backend: BackendTopo
    jira: JiraTopo
    dashboard_uid: str
    timing: LabTiming
    thresholds: BotThresholds
    #: Step kind (select_runner, deploy, health_check, rollback) -> the step's name in the pipeline, if not ours.
    step_names: dict[str, str] = field(default_factory=dict)
    #: The labels every deploy job asks for besides the chosen runner's role label (`deploy_labels`, or the labels
    #: every runner shares); the deploy jobs run on `[*deploy_labels, <role label>]`.
    deploy_labels: tuple[str, ...] = ("self-hosted", "production")
    #: The least repository role the bot lets run a verification (`minimum_permission`).
    minimum_permission: str = "admin"

    @property
    def fleet_label(self) -> str:
        """The deploy label a runner loses under fault no-secondary: the last of `deploy_labels` (`production` by
        default), the one that says "deploys go here"."""
        return self.deploy_labels[-1]

    @property
    def admin_login(self) -> str:
        """The repository admin whose token the pipeline and the runner exporter use to list runners."""
        return f"{self.repository.split('/', 1)[0]}-deploy"

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every SSH host, runner hosts first, without duplicates."""
        names = [r.host for r in self.runners] + [self.backend.host]
        return tuple(dict.fromkeys(names))

    def runner(self, role: str) -> RunnerTopo:
        for runner in self.runners:
            if runner.role == role:
                return runner
        raise TopologyError(f"the topology has no runner with role {role!r}")

    def user(self, role: str) -> str:
        for user in self.users:
            if user.role == role:
                return user.login
        raise TopologyError(f"the topology has no user with role {role!r}")


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise TopologyError(f"topology key {key!r} must be a mapping")
    return value


def _floats(raw: dict[str, Any], cls: type[Any], key: str) -> Any:
    values = raw.get(key) or {}
    try:
        return cls(**{k: float(v) for k, v in values.items()})
    except (TypeError, ValueError) as error:
        raise TopologyError(f"topology key {key!r} is invalid: {error}") from error


def parse_topology(raw: dict[str, Any]) -> Topology:
    """A Topology from YAML data."""
    try:
        pr = _section(raw, "pull_request")
        app = _section(raw, "app")
        backend = _section(raw, "backend")
        jira = _section(raw, "jira")
        runners = tuple(
            RunnerTopo(
                name=str(r["name"]),
                role=str(r["role"]),
                labels=tuple(str(label) for label in r["labels"]),
                host=str(r["host"]),
                unit=str(r["unit"]),
                role_label=str(r.get("role_label") or ""),
            )
            for r in raw["runners"]
        )
        topology = Topology(
            repository=str(raw["repository"]),
            default_branch=str(raw.get("default_branch", "main")),
            environment=str(raw.get("environment", "staging")),
            workflow_file=str(raw.get("workflow_file", "ci.yml")),
            pull_request=PullRequestTopo(
                number=int(pr["number"]), head_ref=str(pr["head_ref"]), title=str(pr["title"]), author=str(pr["author"])
            ),
            app=AppTopo(id=int(app["id"]), slug=str(app["slug"]), installation_id=int(app["installation_id"])),
            users=tuple(
                UserTopo(login=str(u["login"]), permission=str(u["permission"]), role=str(u.get("role", "other")))
                for u in raw["users"]
            ),
            teams={str(k): tuple(str(m) for m in v) for k, v in (raw.get("teams") or {}).items()},
            ssh_user=str(raw.get("ssh_user", "deploy")),
            runners=runners,
            backend=BackendTopo(
                host=str(backend["host"]),
                unit=str(backend["unit"]),
                frontend_unit=str(backend.get("frontend_unit") or f"{backend['unit']}-frontend"),
                initial_version=str(backend.get("initial_version", "1.0.0")),
                extra_components=tuple((str(k), str(v)) for k, v in (backend.get("extra_components") or {}).items()),
            ),
            jira=JiraTopo(
                issue=str(jira["issue"]),
                summary=str(jira.get("summary", "")),
                status=str(jira.get("status", "To Do")),
                user=str(jira.get("user", "verify-staging")),
                password=str(jira.get("password", "lab-password")),
            ),
            dashboard_uid=str((raw.get("grafana") or {}).get("dashboard_uid", "verify-staging-runners")),
            timing=_floats(raw, LabTiming, "timing"),
            thresholds=_floats(raw, BotThresholds, "thresholds"),
            step_names={str(k): str(v) for k, v in ((raw.get("pipeline") or {}).get("step_names") or {}).items()},
            deploy_labels=deploy_labels(raw.get("deploy_labels"), runners),
            minimum_permission=str(raw.get("minimum_permission", "admin")),
        )
    except KeyError as error:
        raise TopologyError(f"topology key {error.args[0]!r} is missing") from error
    check_roles(topology)
    return replace(topology, runners=tuple(with_role_label(r, topology) for r in topology.runners))


def load_topology(path: Path | None = None) -> Topology:
    """Reads the topology file (default: lab/topology.default.yml)."""
    source = path or DEFAULT_TOPOLOGY
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TopologyError(f"cannot read topology file {source}: {error}") from error
    if not isinstance(raw, dict):
        raise TopologyError(f"topology file {source} must hold a mapping")
    return parse_topology(raw)
