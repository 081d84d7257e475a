"""`verify-staging doctor`'s checks against the one fake of each outside system: a healthy installation passes every
check; each thing an operator gets wrong on day one is one problem line that names it and says how to mend it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.doctor.database_checks import StoreProbe
from bot.doctor.manifest import REQUIRED_EVENTS, REQUIRED_PERMISSIONS
from bot.doctor.result import CheckResult, summary
from bot.doctor.run import DoctorPorts, diagnose, exit_status
from bot.doctor.sqlite_probe import SqliteProbe
from bot.github.app_info import AppGrants
from bot.github.models import Runner
from bot.ports import JiraTransition, PanelQueryResult
from bot.runtime.cli import main
from bot.settings import Settings
from bot.store import MIGRATIONS
from bot.texts import doctor as texts
from tests.fakes.github import FakeGitHubApp, FakeGitHubRepo
from tests.fakes.jira import FakeJira
from tests.fakes.monitoring import FakeAlertmanager, FakeGrafana, FakePrometheus, factory, rule
from tests.fakes.probe import FakeProbe
from tests.fakes.ssh import FakeSSH
from tests.support.settings import REPOSITORY, example_settings
from tests.support.texts import pattern

WORKFLOW_PATH = ".github/workflows/ci.yml"
WORKFLOW = """\
name: Deploy
on:
  workflow_dispatch:
    inputs:
      environment: {type: string}
      test_mode: {type: string}
      test_id: {type: string}
concurrency:
  group: deploy-${{ inputs.environment }}
jobs:
  deploy:
    runs-on: [self-hosted, production]
    steps: [{run: ./deploy.sh}]
"""
RUNNER_UNIT = "actions.runner.paws360-paws360.{name}.service"


@dataclass
class Installation:
    """The example settings' world, healthy, in fakes a test then breaks one thing of."""

    settings: Settings
    github: FakeGitHubApp = field(default_factory=FakeGitHubApp)
    ssh: FakeSSH = field(default_factory=FakeSSH)
    probe: FakeProbe = field(default_factory=FakeProbe)
    prometheus: FakePrometheus = field(default_factory=FakePrometheus)
    alertmanager: FakeAlertmanager = field(default_factory=FakeAlertmanager)
    grafana: FakeGrafana = field(default_factory=FakeGrafana)
    jira: FakeJira = field(default_factory=FakeJira)
    store: StoreProbe | None = None

    def __post_init__(self) -> None:
        env = self.settings.environments["staging"]
        self.github.installations[REPOSITORY] = (1001, None)
        repo = self.github.repo(installation_id=1001, repository=REPOSITORY)
        repo.files[WORKFLOW_PATH] = WORKFLOW
        for number, runner in enumerate(env.runners):
            repo.runners[runner.name] = Runner(number, runner.name, "online", False, ("self-hosted", *runner.labels))
            self.ssh.units[runner.host] = {RUNNER_UNIT.format(name=runner.name): True}
        self.ssh.units[env.backend.host] = {env.backend.service: True}
        components = {name: {"status": "UP"} for name in env.backend.required_components}
        self.probe.set(env.backend.health_url, status=200, body={"status": "UP", "components": components})
        self.probe.set(env.backend.info_url, status=200, body={"build": {"version": "1.4.2"}})
        self.probe.set(env.frontend.url, status=200)
        assert env.frontend.version_url is not None
        self.probe.set(env.frontend.version_url, status=200, body={"version": "1.4.2"})
        self.prometheus.rule_list = [rule(name) for name in env.monitoring.alert_rules]
        panel = PanelQueryResult(panel_id=1, title="Runners online", series=2, points=40)
        self.grafana.dashboards[env.monitoring.grafana_dashboard_uid] = [panel]

    @property
    def repo(self) -> FakeGitHubRepo:
        return self.github.repo(installation_id=1001, repository=REPOSITORY)

    async def diagnose(self, *, timeout: float = 5, repository: str | None = None) -> list[CheckResult]:
        ports = DoctorPorts(
            directory=self.github, github=self.github, ssh=self.ssh, probe=self.probe,
            monitoring=factory(self.prometheus, self.alertmanager, self.grafana), jira=self.jira, store=self.store,
        )  # fmt: skip
        return await diagnose(self.settings, ports, repository=repository, timeout=timeout)


@pytest.fixture
def world(tmp_path: Path) -> Installation:
    return Installation(example_settings(tmp_path))


def problems(results: list[CheckResult]) -> list[str]:
    return [r.line for r in results if not r.ok]


async def test_a_healthy_installation_passes_every_check(world: Installation) -> None:
    results = await world.diagnose()
    assert problems(results) == []
    assert exit_status(results) == 0
    assert len(results) == 19  # app, installation, 2 grants, workflow, 2 runners, 3 units, 4 HTTP, 3 monitoring, 2 JIRA
    assert summary(results) == texts.SUMMARY.format(ok=19, problems=0, s="s")
    # The unit check asks sudo without a prompt, for systemctl status only, with the unit name from the settings.
    assert ("staging-backend-host", ("sudo", "-n", "systemctl", "status", "paws360-backend")) in world.ssh.calls


async def test_no_installation_names_the_repository(world: Installation) -> None:
    del world.github.installations[REPOSITORY]
    results = await world.diagnose()
    [line] = problems(results)
    assert line.startswith(f"problem  App installed on {REPOSITORY}: ") and f"install the App on {REPOSITORY}" in line
    assert exit_status(results) == 1


async def test_a_refused_jwt_is_a_problem_with_the_settings_to_check(world: Installation) -> None:
    world.github.jwt_refused = True
    found = problems(await world.diagnose())
    assert found[0].startswith("problem  GitHub App JWT: ") and "GITHUB_APP_ID" in found[0]


async def test_a_missing_permission_names_it_and_what_is_granted(world: Installation) -> None:
    granted = {**REQUIRED_PERMISSIONS, "actions": "read"}
    del granted["administration"]
    world.github.installations[REPOSITORY] = (1001, AppGrants(permissions=granted, events=REQUIRED_EVENTS))
    [line] = problems(await world.diagnose())
    assert line.startswith(f"problem  {texts.PERMISSIONS.format(repository=REPOSITORY)}: ")
    assert "actions: write (granted read); administration: read (granted none) not granted" in line


async def test_an_unsubscribed_event_is_named(world: Installation) -> None:
    events = tuple(e for e in REQUIRED_EVENTS if e != "workflow_job")
    world.github.grants = AppGrants(permissions=dict(REQUIRED_PERMISSIONS), events=events)
    [line] = problems(await world.diagnose())
    assert line == texts.LINE_PROBLEM.format(
        what=texts.EVENTS.format(repository=REPOSITORY), fix=texts.EVENTS_FIX.format(missing="workflow_job")
    )


async def test_a_workflow_without_concurrency_is_a_problem(world: Installation) -> None:
    world.repo.files[WORKFLOW_PATH] = WORKFLOW.replace("concurrency:\n  group: deploy-${{ inputs.environment }}\n", "")
    [line] = problems(await world.diagnose())
    assert line.endswith(": " + texts.WORKFLOW_NO_CONCURRENCY)
    assert WORKFLOW_PATH in line


async def test_a_workflow_without_the_test_id_input_names_it(world: Installation) -> None:
    world.repo.files[WORKFLOW_PATH] = WORKFLOW.replace("      test_id: {type: string}\n", "")
    [line] = problems(await world.diagnose())
    assert line.endswith(": " + texts.WORKFLOW_NO_INPUT.format(names="test_id"))


async def test_a_workflow_missing_from_the_default_branch_is_a_problem(world: Installation) -> None:
    del world.repo.files[WORKFLOW_PATH]
    [line] = problems(await world.diagnose())
    assert line.endswith(": " + texts.WORKFLOW_MISSING)


async def test_an_offline_runner_is_named(world: Installation) -> None:
    world.repo.set_runner("production-runner-02", status="offline")
    [line] = problems(await world.diagnose())
    assert line == texts.LINE_PROBLEM.format(
        what=texts.RUNNER_WHAT.format(name="production-runner-02", repository=REPOSITORY), fix=texts.RUNNER_OFFLINE
    )


async def test_a_runner_that_is_not_registered_is_named(world: Installation) -> None:
    del world.repo.runners["production-runner-01"]
    [line] = problems(await world.diagnose())
    assert pattern(texts.RUNNER_MISSING, registered="production-runner-02", name="production-runner-01").search(line)


async def test_sudo_asking_for_a_password_is_a_problem_for_each_unit_there(world: Installation) -> None:
    world.ssh.sudo_password.add("staging-backend-host")
    [line] = problems(await world.diagnose())
    assert line.startswith("problem  ssh deploy@staging-backend-host: `sudo -n systemctl status paws360-backend`: ")
    assert "sudo refused (sudo: a password is required)" in line


async def test_an_inactive_unit_is_fine_but_a_missing_one_is_not(world: Installation) -> None:
    env = world.settings.environments["staging"]
    world.ssh.units[env.runners[0].host] = {RUNNER_UNIT.format(name=env.runners[0].name): False}
    world.ssh.units[env.backend.host] = {}
    [line] = problems(await world.diagnose())
    assert line.endswith(": " + texts.SUDO_NO_UNIT.format(unit="paws360-backend", status=4))


async def test_an_unreachable_host_is_a_problem_never_ok(world: Installation) -> None:
    world.ssh.unreachable.add("production-runner-01")
    [line] = problems(await world.diagnose())
    assert line.startswith("problem  ssh deploy@production-runner-01: ") and "connection refused" in line


async def test_a_missing_rule_receiver_and_an_unreachable_grafana_are_named(world: Installation) -> None:
    world.prometheus.rule_list = [rule("RunnerOffline"), rule("DeploymentFailed")]
    world.alertmanager.receiver_names = ["default"]
    world.grafana.down = True
    assert problems(await world.diagnose()) == [
        texts.LINE_PROBLEM.format(
            what=texts.RULES_WHAT,
            fix=texts.RULES_FIX.format(missing="DeploymentDurationHigh", loaded="DeploymentFailed, RunnerOffline"),
        ),
        texts.LINE_PROBLEM.format(
            what=texts.RECEIVER_WHAT.format(receiver="oncall-sre"), fix=texts.RECEIVER_FIX.format(receivers="default")
        ),
        "problem  Grafana dashboard verify-staging-runners: Grafana unreachable: connection refused",
    ]


async def test_a_backend_with_redis_down_is_a_problem(world: Installation) -> None:
    env = world.settings.environments["staging"]
    down = {"status": "DOWN", "components": {"db": {"status": "UP"}, "redis": {"status": "DOWN"}}}
    world.probe.set(env.backend.health_url, status=503, body=down)
    [line] = problems(await world.diagnose())
    assert line.endswith(
        ": " + texts.BACKEND_HEALTH_FIX.format(health="DOWN (db UP, redis DOWN)", components="db, redis")
    )


async def test_a_jira_status_no_transition_reaches_is_named(world: Installation) -> None:
    world.jira.workflow["To Do"] = (JiraTransition("71", "Close", "Done"),)
    [line] = problems(await world.diagnose())
    assert line == texts.LINE_PROBLEM.format(
        what=texts.JIRA_STATUS_WHAT.format(key="INFRA-473", target="In Progress"),
        fix=texts.JIRA_STATUS_FIX.format(status="To Do", offered="Done", setting="in_progress"),
    )


async def test_an_unreachable_jira_is_a_problem(world: Installation) -> None:
    world.jira.down = True
    [line] = problems(await world.diagnose())
    assert line.startswith("problem  JIRA issue INFRA-473: JIRA at http://jira.invalid could not be reached")


async def test_a_check_that_hangs_is_a_problem_after_its_deadline(world: Installation) -> None:
    async def hang(host: str, argv: tuple[str, ...]) -> None:
        await asyncio.Event().wait()

    world.ssh.before = hang
    results = await world.diagnose(timeout=0.05)
    assert [r.fix for r in results if not r.ok] == [texts.TIMED_OUT.format(seconds=0.05)] * 3


async def test_the_store_is_checked_last_in_the_doctor_but_not_in_a_dry_runs_summary(world: Installation) -> None:
    world.store = SqliteProbe(world.settings.store_location)
    results = await world.diagnose()
    assert [r.line for r in results[-2:]] == [
        texts.LINE_OK.format(what=texts.STORE.format(where=world.store.where, detail=texts.SQLITE_NEW.format(
            directory=Path(world.settings.store_location).parent))),
        texts.LINE_OK.format(what=texts.SCHEMA_FRESH.format(known=len(MIGRATIONS))),
    ]  # fmt: skip
    assert len(results) == 21 and problems(results) == []
    # The bot answering a dry run has its store open: its summary is about the repository.
    assert len(await world.diagnose(repository=REPOSITORY)) == 19


async def test_a_store_migrated_by_a_newer_release_fails_the_doctor(world: Installation) -> None:
    path = Path(world.settings.store_location)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    world.store = SqliteProbe(str(path))
    results = await world.diagnose()
    assert problems(results) == [
        texts.LINE_PROBLEM.format(
            what=texts.SCHEMA_WHAT, fix=texts.SCHEMA_NEWER.format(version=len(MIGRATIONS) + 1, known=len(MIGRATIONS))
        )
    ]
    assert exit_status(results) == 1


def test_doctor_that_cannot_run_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.yml"
    assert main(["doctor", "--settings", str(missing)]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("verify-staging: ") and str(missing) in line
    assert captured.out == ""
