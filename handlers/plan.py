"""The plan a `/verify-staging --dry-run` shows: which scenarios, on which hosts, with which commands and limits.

Commands are the engine's own argv builders (scenarios/journal.py), so the plan shows exactly what would run.
"""

from __future__ import annotations

import shlex

from bot.model import SCENARIO_TITLES, ScenarioId
from bot.reporting.escape import md_code
from bot.settings import EnvironmentSettings, RunnerRole, Settings
from bot.texts import commands as texts
from scenarios.journal import start_argv, stop_argv


def render_plan(
    *, settings: Settings, environment: EnvironmentSettings, scenarios: tuple[ScenarioId, ...], ref: str, head_sha: str
) -> str:
    """Markdown for the dry-run reply (touches nothing)."""
    parts = [texts.DRY_RUN_HEADER.format(environment=environment.name, head_sha=head_sha[:12])]
    for scenario in scenarios:
        parts.append(texts.DRY_RUN_SCENARIO.format(title=SCENARIO_TITLES[scenario], scenario=scenario.value))
        parts.extend(texts.DRY_RUN_STEP.format(step=step) for step in _steps(settings, environment, scenario, ref))
    limits = ", ".join(f"{name.replace('_', ' ')} {value:g} s" for name, value in vars(environment.thresholds).items())
    parts.append(texts.DRY_RUN_THRESHOLDS.format(thresholds=limits))
    return "".join(parts)


def _steps(settings: Settings, env: EnvironmentSettings, scenario: ScenarioId, ref: str) -> list[str]:
    workflow = env.workflow
    inputs = ", ".join(f"`{k}={v}`" for k, v in {**workflow.inputs, workflow.test_id_input: "<unique id>"}.items())
    dispatch = texts.PLAN_DISPATCH.format(workflow=workflow.file, ref=md_code(ref), inputs=inputs)
    health = texts.PLAN_HEALTH.format(
        urls=", ".join(f"`{u}`" for u in (env.backend.health_url, env.frontend.url)),
        components=", ".join(f"`{c}`" for c in env.backend.required_components) or "none",
    )

    def address(host: str) -> str:
        ssh = settings.ssh.hosts[host]
        return f"{settings.ssh.user}@{ssh.address}:{ssh.port}"

    if scenario is ScenarioId.NORMAL_DEPLOY:
        return [dispatch, health]
    if scenario is ScenarioId.CONCURRENCY:
        return [texts.PLAN_CONCURRENT.format(workflow=workflow.file)]
    if scenario is ScenarioId.FAILOVER:
        primary, secondary = env.runner(RunnerRole.PRIMARY), env.runner(RunnerRole.SECONDARY)
        where = {"host": primary.host, "address": address(primary.host)}
        return [
            texts.PLAN_STOP_RUNNER.format(
                **where, command=shlex.join(stop_argv(primary.service)), runner=secondary.name
            ),
            dispatch,
            texts.PLAN_START_RUNNER.format(**where, command=shlex.join(start_argv(primary.service))),
        ]
    if scenario is ScenarioId.ROLLBACK:
        backend = env.backend
        where = {"host": backend.host, "address": address(backend.host)}
        return [
            dispatch,
            texts.PLAN_STOP_BACKEND.format(
                **where, command=shlex.join(stop_argv(backend.service)), rollback=workflow.jobs.rollback
            ),
            texts.PLAN_START_BACKEND.format(**where, command=shlex.join(start_argv(backend.service))),
        ]
    monitoring = env.monitoring
    primary = env.runner(RunnerRole.PRIMARY)
    where = {"host": primary.host, "address": address(primary.host)}
    return [
        texts.PLAN_MONITORING.format(
            rules=", ".join(f"`{r}`" for r in monitoring.alert_rules),
            prometheus=monitoring.prometheus_url,
            alert=monitoring.runner_offline_alert,
            receiver=monitoring.oncall_receiver,
        ),
        texts.PLAN_STOP_RUNNER.format(**where, command=shlex.join(stop_argv(primary.service)), runner=primary.name),
        texts.PLAN_START_RUNNER.format(**where, command=shlex.join(start_argv(primary.service))),
    ]
