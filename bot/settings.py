"""Settings: secrets from the environment, everything else from the settings file (deploy/settings.example.yml).

This is the one module that reads os.environ. `load_settings()` validates everything at start-up and raises
SettingsError with one sentence naming the setting and what is expected.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.model import ScenarioId
from bot.permissions import Permission
from bot.settings_model import (
    AuthorizationSettings,
    BackendSettings,
    EnvironmentSettings,
    FrontendSettings,
    GitHubSettings,
    JiraSettings,
    JiraStatuses,
    MonitoringSettings,
    RegressionSettings,
    RepositorySettings,
    RunnerRole,
    RunnerSettings,
    Secrets,
    ServerSettings,
    Settings,
    SSHHost,
    SSHSettings,
    Thresholds,
    WorkflowJobs,
    WorkflowSettings,
)
from bot.settings_schedule import check_schedule_repositories, parse_schedule
from bot.settings_secrets import secrets_from_environment
from bot.texts.safety import UNIT_SETTING_INVALID
from bot.unit_names import unit_name_problem
from bot.yaml_fields import Node, SettingsError, shown

__all__ = [
    "AuthorizationSettings",
    "BackendSettings",
    "EnvironmentSettings",
    "FrontendSettings",
    "GitHubSettings",
    "JiraSettings",
    "JiraStatuses",
    "MonitoringSettings",
    "RegressionSettings",
    "RepositorySettings",
    "RunnerRole",
    "RunnerSettings",
    "SSHHost",
    "SSHSettings",
    "Secrets",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "Thresholds",
    "WorkflowJobs",
    "WorkflowSettings",
    "load_settings",
    "load_settings_from_process",
]


# --------------------------------------------------------------------------------------------------- loading
SETTINGS_PATH_VARIABLE = "VERIFY_STAGING_SETTINGS"
JIRA_KEY = re.compile(r"[A-Z][A-Z0-9]+-\d+")
JIRA_PROJECT = re.compile(r"[A-Z][A-Z0-9]+")
_TEAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
_REPOSITORY = _TEAM


def load_settings_from_process(path: str | None) -> Settings:
    """load_settings with this process's environment (the one place os.environ is read)."""
    return load_settings(path, os.environ)


def load_settings(path: str | None, env: Mapping[str, str]) -> Settings:
    """Read and validate the settings file (path, else $VERIFY_STAGING_SETTINGS) and the secrets in env.

    Raises SettingsError with one sentence naming the setting and what is expected. A relative `database` path is
    taken relative to the settings file.
    """
    path = path or env.get(SETTINGS_PATH_VARIABLE) or None
    if path is None:
        raise SettingsError(f"No settings file given; pass --settings FILE or set {SETTINGS_PATH_VARIABLE}.")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"The settings file {path} cannot be read ({exc.strerror or exc}).") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SettingsError(f"The settings file {path} is not valid YAML{where}.") from None
    root = Node("", raw if raw is not None else {})
    settings = _parse(root, secrets=secrets_from_environment(env))
    database = settings.database
    if database != ":memory:" and not Path(database).is_absolute():
        database = str(Path(path).resolve().parent / database)
    return dataclasses.replace(settings, database=database)


def _parse(root: Node, *, secrets: Secrets) -> Settings:
    root.only(["database", "github", "authorization", "jira", "ssh", "environments", "server"])
    ssh = _ssh(root.child("ssh"))
    environments = {
        name: _environment(name, node, ssh)
        for name, node in root.children("environments", expected="an environment name")
    }
    github = _github(root.child("github"), environments)
    check_schedule_repositories(environments, github.repositories)
    return Settings(
        database=_database_path(root),
        github=github,
        authorization=_authorization(root.child("authorization", required=False)),
        jira=_jira(root.child("jira", required=False)),
        ssh=ssh,
        environments=environments,
        secrets=secrets,
        server=_server(root.child("server", required=False)),
        database_lease_seconds=_lease_seconds(root),
    )


# Issue 16: `database` is the SQLite path, or a mapping {path, lease_seconds} once replicas need a lease length.
_DATABASE_PATH = "the path of the SQLite database file"


def _database_path(root: Node) -> str:
    if isinstance(root.data.get("database"), dict):
        node = root.child("database")
        node.only(["path", "lease_seconds"])
        return node.string("path", expected=_DATABASE_PATH)
    return root.string("database", expected=f"{_DATABASE_PATH} (or a mapping with path and lease_seconds)")


def _lease_seconds(root: Node) -> float:
    default = Settings.__dataclass_fields__["database_lease_seconds"].default
    assert isinstance(default, float)
    if not isinstance(root.data.get("database"), dict):
        return default
    seconds = root.child("database").seconds("lease_seconds", default)
    if seconds < 3:
        raise SettingsError(f"database.lease_seconds must be at least 3 seconds (heartbeat: a third), got {seconds:g}.")
    return seconds


def _github(node: Node, environments: Mapping[str, EnvironmentSettings]) -> GitHubSettings:
    node.only(["repositories", "api_version", "runner_poll_interval", "reconcile_after", "redelivery_interval"])
    repositories: dict[str, RepositorySettings] = {}
    for name, repo in node.children("repositories", expected="a repository as owner/name"):
        if not _REPOSITORY.fullmatch(name):
            raise SettingsError(f"{repo.path} must be a repository as owner/name.")
        repo.only(["environment"])
        environment = repo.choice("environment", environments)
        repositories[name] = RepositorySettings(environment=environment)
    defaults = GitHubSettings(repositories={})
    return GitHubSettings(
        repositories=repositories,
        api_version=node.string("api_version", defaults.api_version, expected="a GitHub REST API version"),
        runner_poll_interval=node.seconds("runner_poll_interval", defaults.runner_poll_interval),
        reconcile_after=node.seconds("reconcile_after", defaults.reconcile_after),
        redelivery_interval=node.seconds("redelivery_interval", defaults.redelivery_interval),
    )


def _authorization(node: Node) -> AuthorizationSettings:
    node.only(
        [
            "minimum_permission",
            "scenario_teams",
            "signoff_team",
            "command_cooldown",
            "allow_self_signoff",
            "command_max_age",
        ]
    )
    teams: dict[ScenarioId, str] = {}
    for scenario, _ in node.child("scenario_teams", required=False).data.items():
        if scenario not in [s.value for s in ScenarioId]:
            ids = ", ".join(s.value for s in ScenarioId)
            raise SettingsError(
                f"authorization.scenario_teams has {shown(scenario)}; expected scenario ids ({ids}) as keys."
            )
        team = node.child("scenario_teams").matching(str(scenario), _TEAM, expected="a team as org/team-slug")
        assert team is not None
        teams[ScenarioId(scenario)] = team
    return AuthorizationSettings(
        minimum_permission=Permission(node.choice("minimum_permission", Permission.grantable(), default="admin")),
        scenario_teams=teams,
        signoff_team=node.matching("signoff_team", _TEAM, expected="a team as org/team-slug or null", optional=True),
        command_cooldown=node.seconds("command_cooldown", AuthorizationSettings().command_cooldown),
        allow_self_signoff=_flag(node, "allow_self_signoff"),
        command_max_age=node.seconds("command_max_age", AuthorizationSettings().command_max_age),
    )


def _server(node: Node) -> ServerSettings:
    defaults = ServerSettings()
    node.only([f.name for f in dataclasses.fields(ServerSettings)])
    return ServerSettings(
        body_timeout=node.seconds("body_timeout", defaults.body_timeout),
        max_requests=node.count("max_requests", defaults.max_requests),
        event_queue=node.count("event_queue", defaults.event_queue),
        command_queue=node.count("command_queue", defaults.command_queue),
        event_workers=node.count("event_workers", defaults.event_workers),
        command_workers=node.count("command_workers", defaults.command_workers),
        retention_days=node.count("retention_days", defaults.retention_days),
        public_url=node.url("public_url").rstrip("/") if node.has("public_url") else None,
        history_public=_flag(node, "history_public"),
    )


def _flag(node: Node, key: str, default: bool = False) -> bool:
    if not node.has(key):
        return default
    value = node.raw(key, expected="true or false")
    if not isinstance(value, bool):
        raise SettingsError(f"{node.key_path(key)} is {shown(value)}; expected true or false.")
    return value


def _jira(node: Node) -> JiraSettings:
    node.only(["issue", "statuses", "projects"])
    statuses = node.child("statuses", required=False)
    defaults = JiraStatuses()
    names = [f.name for f in dataclasses.fields(JiraStatuses)]
    statuses.only(names)
    return JiraSettings(
        issue=node.matching("issue", JIRA_KEY, expected="a JIRA issue key such as INFRA-473, or null", optional=True),
        statuses=JiraStatuses(
            **{n: statuses.string(n, getattr(defaults, n), expected="a JIRA status name") for n in names}
        ),
        projects=_jira_projects(node),
    )


def _jira_projects(node: Node) -> tuple[str, ...]:
    projects = node.strings("projects", (), allow_empty=True)
    for project in projects:
        if not JIRA_PROJECT.fullmatch(project):
            where = node.key_path("projects")
            raise SettingsError(f"{where} must list JIRA project keys such as INFRA, got {shown(project)}.")
    return projects


def _ssh(node: Node) -> SSHSettings:
    node.only(
        ["user", "hosts", "connect_timeout", "command_timeout", "max_units_per_pattern", "undo_retry_interval",
         "keepalive_interval"]
    )  # fmt: skip
    hosts: dict[str, SSHHost] = {}
    for name, host in node.children("hosts", expected="a host name"):
        host.only(["address", "port"])
        hosts[name] = SSHHost(
            address=host.string("address", expected="a host name or IP address"), port=host.port("port", 22)
        )
    defaults = SSHSettings(user="", hosts={})
    return SSHSettings(
        user=node.string("user", expected="the SSH user name"),
        hosts=hosts,
        connect_timeout=node.seconds("connect_timeout", defaults.connect_timeout),
        command_timeout=node.seconds("command_timeout", defaults.command_timeout),
        max_units_per_pattern=_count(node, "max_units_per_pattern", defaults.max_units_per_pattern),
        undo_retry_interval=node.seconds("undo_retry_interval", defaults.undo_retry_interval),
        keepalive_interval=node.seconds("keepalive_interval", defaults.keepalive_interval),
    )


def _count(node: Node, key: str, default: int) -> int:
    value = node.data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"{node.key_path(key)} must be a whole number of at least 1, got {shown(value)}.")
    return value


def _unit(node: Node, key: str, *, expected: str) -> str:
    """A systemd unit name or pattern the bot may stop (issue 12: never an option, never sshd)."""
    value = node.string(key, expected=expected)
    problem = unit_name_problem(value)
    if problem is not None:
        raise SettingsError(UNIT_SETTING_INVALID.format(path=node.key_path(key), problem=problem, value=value))
    return value


def _ssh_host(node: Node, key: str, ssh: SSHSettings) -> str:
    return node.choice(key, ssh.hosts)


def _environment(name: str, node: Node, ssh: SSHSettings) -> EnvironmentSettings:
    node.only(
        [
            "workflow",
            "runners",
            "backend",
            "frontend",
            "monitoring",
            "thresholds",
            "incident_label",
            "regressions",
            "schedule",
        ]
    )
    runners = tuple(_runner(r, ssh) for r in node.items("runners"))
    roles = [r.role for r in runners]
    for role in RunnerRole:
        if role not in roles:
            raise SettingsError(f"{node.key_path('runners')} must include a runner with role {role.value}.")
    backend = node.child("backend")
    backend.only(["host", "service", "health_url", "info_url", "required_components"])
    frontend = node.child("frontend")
    frontend.only(["url", "version_url"])
    thresholds = node.child("thresholds", required=False)
    names = [f.name for f in dataclasses.fields(Thresholds)]
    thresholds.only(names)
    default_thresholds = Thresholds()
    return EnvironmentSettings(
        name=name,
        workflow=_workflow(node.child("workflow")),
        runners=runners,
        backend=BackendSettings(
            host=_ssh_host(backend, "host", ssh),
            service=_unit(backend, "service", expected="a systemd unit name"),
            health_url=backend.url("health_url"),
            info_url=backend.url("info_url"),
            required_components=backend.strings("required_components", ("db", "redis"), allow_empty=True),
        ),
        frontend=FrontendSettings(
            url=frontend.url("url"),
            version_url=frontend.url("version_url") if frontend.data.get("version_url") is not None else None,
        ),
        monitoring=_monitoring(node.child("monitoring")),
        thresholds=Thresholds(**{n: thresholds.seconds(n, getattr(default_thresholds, n)) for n in names}),
        incident_label=node.string("incident_label", "incident", expected="a label name"),
        regressions=_regressions(node.child("regressions", required=False)),
        schedule=parse_schedule(node.child("schedule", required=False)),
    )


def _runner(node: Node, ssh: SSHSettings) -> RunnerSettings:
    node.only(["name", "role", "labels", "host", "service"])
    return RunnerSettings(
        name=node.string("name", expected="the runner's name as GitHub lists it"),
        role=RunnerRole(node.choice("role", [r.value for r in RunnerRole])),
        labels=node.strings("labels"),
        host=_ssh_host(node, "host", ssh),
        service=_unit(node, "service", expected="a systemd unit name (a glob is allowed)"),
    )


def _workflow(node: Node) -> WorkflowSettings:
    node.only(["file", "ref", "inputs", "test_id_input", "jobs"])
    jobs = node.child("jobs", required=False)
    names = [f.name for f in dataclasses.fields(WorkflowJobs)]
    jobs.only(names)
    default_jobs = WorkflowJobs()
    return WorkflowSettings(
        file=node.string("file", expected="the workflow file name under .github/workflows, e.g. ci.yml"),
        ref=node.optional_string("ref", expected="a branch name, or null for the pull request's head branch"),
        inputs=node.string_map("inputs"),
        test_id_input=node.string("test_id_input", "test_id", expected="the name of a workflow input"),
        jobs=WorkflowJobs(**{n: jobs.string(n, getattr(default_jobs, n), expected="a job name") for n in names}),
    )


def _monitoring(node: Node) -> MonitoringSettings:
    fields = [f.name for f in dataclasses.fields(MonitoringSettings)]
    node.only(fields)
    defaults = MonitoringSettings(prometheus_url="", alertmanager_url="", grafana_url="", grafana_dashboard_uid="")
    return MonitoringSettings(
        prometheus_url=node.url("prometheus_url"),
        alertmanager_url=node.url("alertmanager_url"),
        grafana_url=node.url("grafana_url"),
        grafana_dashboard_uid=node.string("grafana_dashboard_uid", expected="a Grafana dashboard uid"),
        alert_rules=node.strings("alert_rules", defaults.alert_rules),
        runner_offline_alert=node.string(
            "runner_offline_alert", defaults.runner_offline_alert, expected="an alert name"
        ),
        oncall_receiver=node.string(
            "oncall_receiver", defaults.oncall_receiver, expected="an Alertmanager receiver name"
        ),
        scrape_interval=node.seconds("scrape_interval", defaults.scrape_interval),
    )


def _regressions(node: Node) -> RegressionSettings:
    """issue 15 §3: `environments.<env>.regressions` (every key optional)."""
    defaults = RegressionSettings()
    node.only([f.name for f in dataclasses.fields(RegressionSettings)])
    ratio = node.data.get("ratio", defaults.ratio)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or ratio <= 0:
        raise SettingsError(f"{node.key_path('ratio')} must be a positive fraction such as 0.5, got {shown(ratio)}.")
    runs = node.count("runs", defaults.runs)
    min_runs = node.count("min_runs", min(defaults.min_runs, runs))
    if min_runs > runs:
        raise SettingsError(f"{node.key_path('min_runs')} must not exceed {node.key_path('runs')} ({runs}).")
    return RegressionSettings(
        ratio=float(ratio),
        seconds=node.seconds("seconds", defaults.seconds),
        runs=runs,
        min_runs=min_runs,
        fail=_flag(node, "fail"),
    )
