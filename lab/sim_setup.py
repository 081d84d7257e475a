"""The simulated GitHub of a topology: its users, teams, pull request, runners, the deployment workflow shaped by
the faults, delivery and REST faults, and the App's permissions and events taken from the App manifest (app.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

import yaml

from lab import faults as fault_values
from lab.faults import Fault, Faults
from lab.github.config import (
    DeliveryFaults,
    FlakyFaults,
    Permission,
    PullSpec,
    RunnerSpec,
    SimConfig,
    Timing,
    UserSpec,
)
from lab.pipeline import (
    ENV_BACKEND_HOST,
    ENV_BACKEND_URL,
    ENV_FRONTEND_URL,
    ENV_RELEASE_DIR,
    ENV_RUNNER_ADMIN_TOKEN,
    PipelineParams,
    deploy_workflow,
)

if TYPE_CHECKING:
    from lab.topology import Topology
    from lab.world import World


class AppManifest(TypedDict):
    default_permissions: dict[str, str]
    default_events: list[str]


def app_manifest(path: Path) -> AppManifest:
    """The permissions and events of the App manifest (app.yml)."""
    data = yaml.safe_load(path.read_text())
    return AppManifest(
        default_permissions={str(k): str(v) for k, v in data["default_permissions"].items()},
        default_events=[str(e) for e in data["default_events"]],
    )


def answers_log(world: World) -> Path | None:
    """Where the simulated GitHub writes every answer (`python -m lab --record-answers`), or None."""
    return world.options.workdir / "github" / "answers.jsonl" if world.options.record_answers else None


def pipeline_params(topo: Topology, faults: Faults, *, failover_seconds: float | None = None) -> PipelineParams:
    """What shapes the deployment workflow of this topology under these faults (`failover_seconds`: slow-failover's
    delay chosen at run time through `POST /_lab/faults`, instead of `timing.slow_failover_seconds`)."""
    timing = topo.timing
    slow_failover = timing.slow_failover_seconds if failover_seconds is None else failover_seconds
    return PipelineParams(
        environment=topo.environment,
        primary_runner=topo.runner("primary").name,
        deploy_seconds=timing.slow_deploy_seconds if Fault.SLOW_DEPLOY in faults else timing.deploy_seconds,
        health_check_timeout=timing.health_check_timeout,
        health_check_interval=timing.health_check_interval,
        failover_seconds=slow_failover if Fault.SLOW_FAILOVER in faults else 0.0,
        concurrency=Fault.NO_CONCURRENCY not in faults,
        rollback=Fault.NO_ROLLBACK not in faults,
        step_names=tuple(topo.step_names.items()),
        deploy_log_error=fault_values.DEPLOY_LOG_ERROR_MESSAGE if Fault.DEPLOY_LOG_ERROR in faults else "",
        rollback_components=("backend",) if Fault.PARTIAL_ROLLBACK in faults else ("backend", "frontend"),
        deploy_labels=topo.deploy_labels,
        primary_label=topo.runner("primary").role_label,
        secondary_label=topo.runner("secondary").role_label,
    )


def flaky_faults(faults: Faults) -> FlakyFaults:
    """The simulated GitHub's REST faults (contract fault github-flaky)."""
    if Fault.GITHUB_FLAKY not in faults:
        return FlakyFaults()
    return FlakyFaults(
        error_share=fault_values.GITHUB_FLAKY_ERROR_SHARE, rate_limit_every=fault_values.GITHUB_FLAKY_RATE_LIMIT_EVERY
    )


def sim_config(world: World, public_key: str) -> SimConfig:
    """The simulated GitHub of this topology, with the deployment pipeline shaped by the faults."""
    topo, faults, timing = world.topology, world.options.faults, world.topology.timing
    users = [
        UserSpec(login=u.login, permission=Permission(u.permission), token=world.secrets.user_tokens[u.login])
        for u in topo.users
    ]
    users.append(UserSpec(login=topo.admin_login, permission=Permission.ADMIN, token=world.secrets.admin_token))
    runners = tuple(
        RunnerSpec(
            name=r.name,
            labels=runner_labels(topo, faults, r.name),
            token=world.secrets.runner_tokens[r.name],
        )
        for r in topo.runners
    )
    params = pipeline_params(topo, faults)
    workflow = deploy_workflow(params)
    manifest = app_manifest(world.options.manifest_path)
    workflow_path = f".github/workflows/{topo.workflow_file}"
    delivery = DeliveryFaults(
        drop_share=fault_values.WEBHOOK_LOSS_SHARE if Fault.WEBHOOK_LOSS in faults else 0.0,
        duplicate_share=fault_values.WEBHOOK_CHAOS_DUPLICATE_SHARE if Fault.WEBHOOK_CHAOS in faults else 0.0,
        max_delay=fault_values.WEBHOOK_CHAOS_MAX_DELAY if Fault.WEBHOOK_CHAOS in faults else 0.0,
    )
    flaky = flaky_faults(faults)
    return SimConfig(
        workdir=world.options.workdir / "github",
        truth=world.truth,
        app_id=topo.app.id,
        app_slug=topo.app.slug,
        app_public_key_pem=public_key,
        installation_id=topo.app.installation_id,
        webhook_secret=world.secrets.webhook_secret,
        repository=topo.repository,
        default_branch=topo.default_branch,
        users=tuple(users),
        teams=dict(topo.teams),
        app_permissions=manifest["default_permissions"],
        app_events=tuple(manifest["default_events"]),
        pull_requests=(
            PullSpec(
                number=topo.pull_request.number,
                title=topo.pull_request.title,
                head_ref=topo.pull_request.head_ref,
                head_sha=world.head_sha,
                base=topo.default_branch,
                author=topo.pull_request.author,
            ),
        ),
        files={workflow_path: yaml.safe_dump(workflow, sort_keys=False)},
        workflows={workflow_path: workflow},
        runners=runners,
        hosted_token=world.secrets.hosted_token,
        webhook_url=world.options.webhook_url,
        delivery=delivery,
        flaky=flaky,
        timing=Timing(
            acquire_timeout=timing.acquire_timeout,
            heartbeat_timeout=timing.runner_heartbeat_timeout,
            long_poll=timing.long_poll,
        ),
        job_env={
            ENV_RELEASE_DIR: str(world.release_dir),
            ENV_BACKEND_URL: world.urls["backend"],
            ENV_FRONTEND_URL: world.urls["frontend"] + "/",
            ENV_BACKEND_HOST: topo.backend.host,
            ENV_RUNNER_ADMIN_TOKEN: world.secrets.admin_token,
        },
        answers_log=answers_log(world),
    )


def runner_labels(topo: Topology, faults: Faults, runner: str) -> tuple[str, ...]:
    """The labels runner `runner` registers with under the faults: no-secondary takes the topology's fleet label
    from the secondary; label-mismatch takes the deploy labels from the primary (lab/faults.py)."""
    me = next(r for r in topo.runners if r.name == runner)
    dropped = fault_values.labels_dropped(faults, role=me.role, deploy_labels=topo.deploy_labels)
    if Fault.NO_SECONDARY in faults and me.role == "secondary":
        dropped.add(topo.fleet_label)
    return tuple(label for label in me.labels if label not in dropped)
