"""Runs every doctor check an installation's settings call for, at once and each within a deadline: GitHub (the
App, each repository's installation, workflow and runners), then per environment SSH and sudo on each unit, the
backend and frontend, monitoring, JIRA once, and the store (bot/doctor/database_checks.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.doctor.database_checks import StoreProbe, check_store
from bot.doctor.github_checks import AppDirectory, check_app, check_installation
from bot.doctor.jira_checks import check_jira
from bot.doctor.monitoring_checks import check_dashboard, check_receiver, check_rules
from bot.doctor.result import Check, CheckResult, run_checks
from bot.doctor.staging_checks import check_backend, check_frontend, check_sudo, units
from bot.github.app_info import AppFacts
from bot.ports import GitHubApp, HttpProbe, JiraPort, MonitoringFactory, SSHPort
from bot.settings import EnvironmentSettings, Settings
from bot.texts import doctor as texts

#: Seconds one check may take (an SSH connect is allowed 10 s by default, a command more).
CHECK_TIMEOUT = 30.0


@dataclass(frozen=True)
class DoctorPorts:
    """Everything the doctor asks, through the bot's own adapters (or the tests' fakes)."""

    directory: AppDirectory
    github: GitHubApp
    ssh: SSHPort
    probe: HttpProbe
    monitoring: MonitoringFactory
    jira: JiraPort | None
    #: The store of `Settings.store_location`, read-only (None: not checked).
    store: StoreProbe | None = None


def _targets(settings: Settings, only: str | None) -> list[tuple[str, EnvironmentSettings]]:
    return [
        (name, env)
        for name in settings.github.repositories
        if (only is None or name.lower() == only.lower()) and (env := settings.environment_for(name)) is not None
    ]


async def diagnose(
    settings: Settings, ports: DoctorPorts, *, repository: str | None = None, timeout: float = CHECK_TIMEOUT
) -> list[CheckResult]:
    """One result a line, in a stable order; `repository`: only it and its environment (a dry run's summary)."""
    targets = _targets(settings, repository)
    app_task = asyncio.create_task(check_app(ports.directory))

    async def app_lines() -> list[CheckResult]:
        return (await asyncio.shield(app_task))[0]

    def for_repository(name: str, env: EnvironmentSettings) -> Check:
        async def run() -> list[CheckResult]:
            app: AppFacts | None = (await asyncio.shield(app_task))[1]
            return await check_installation(ports.directory, ports.github, repository=name, app=app, env=env)

        return Check(texts.INSTALLED_WHAT.format(repository=name), run)

    checks = [Check(texts.APP_WHAT, app_lines)]
    checks += [for_repository(name, env) for name, env in targets]
    environments = {env.name: env for _, env in targets}
    for env in environments.values():
        checks += _staging_checks(settings, env, ports, timeout=timeout)
    jira_what = texts.JIRA_ISSUE_WHAT.format(key=settings.jira.issue or "(none configured)")
    checks.append(Check(jira_what, lambda: check_jira(ports.jira, settings.jira)))
    store = ports.store
    if store is not None and repository is None:
        # Not in a dry run's summary: the bot that answers it has its store open and running.
        checks.append(Check(texts.STORE_WHAT.format(where=store.where), lambda: check_store(store)))
    try:
        return await run_checks(checks, timeout=timeout)
    finally:
        app_task.cancel()


def _staging_checks(settings: Settings, env: EnvironmentSettings, ports: DoctorPorts, *, timeout: float) -> list[Check]:
    user = settings.ssh.user

    def sudo(host: str, unit: str) -> Check:
        async def run() -> list[CheckResult]:
            return [await check_sudo(ports.ssh, user=user, host=host, unit=unit, timeout=timeout)]

        return Check(texts.SUDO_WHAT.format(user=user, host=host, unit=unit), run)

    prometheus, alertmanager, grafana = ports.monitoring(env)
    mon = env.monitoring

    async def rules() -> list[CheckResult]:
        return [await check_rules(prometheus, mon)]

    async def receiver() -> list[CheckResult]:
        return [await check_receiver(alertmanager, mon)]

    async def dashboard() -> list[CheckResult]:
        return [await check_dashboard(grafana, mon)]

    return [
        *(sudo(host, unit) for host, unit in units(env)),
        Check(texts.BACKEND_HEALTH_WHAT.format(url=env.backend.health_url),
              lambda: check_backend(ports.probe, env, timeout=timeout)),
        Check(texts.FRONTEND_WHAT.format(url=env.frontend.url),
              lambda: check_frontend(ports.probe, env, timeout=timeout)),
        Check(texts.RULES_WHAT, rules),
        Check(texts.RECEIVER_WHAT.format(receiver=mon.oncall_receiver), receiver),
        Check(texts.DASHBOARD_WHAT.format(uid=mon.grafana_dashboard_uid), dashboard),
    ]  # fmt: skip


def exit_status(results: Sequence[CheckResult]) -> int:
    """0 every check passed, 1 a problem was found (the contract's exit statuses)."""
    return 0 if all(r.ok for r in results) else 1
