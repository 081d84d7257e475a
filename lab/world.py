"""The whole staging lab in one object: `await start_world(options)` brings everything up, `await world.stop()`
ends every process it started.

It starts the stand-in services, the simulated GitHub with the deployment pipeline, one runner agent per runner
(as units of their SSH hosts), the SSH hosts, the runner exporter and the real Prometheus and Alertmanager, and
waits until each answers. `World` then knows every URL, path and secret the state file and the bot need.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import asyncssh
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lab import faults as fault_values
from lab import monitoring
from lab.faults import MISSING_RULE, Fault, Faults
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
from lab.github.runners import HOSTED_NAME
from lab.github.server import RunningGitHub, start_github
from lab.pipeline import (
    ENV_BACKEND_HOST,
    ENV_BACKEND_URL,
    ENV_FRONTEND_URL,
    ENV_RELEASE_DIR,
    ENV_RUNNER_ADMIN_TOKEN,
    PipelineParams,
    deploy_workflow,
)
from lab.services.launch import start_exporter, start_services
from lab.ssh import SSHHostServer, start_host, stop_hosts, write_client_files
from lab.topology import Topology
from lab.truth import Truth
from lab.units import ProcessSpec, Unit, UnitKind, UnitTable, free_port, spawn, terminate, wait_http

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 20.0
# A repository admin whose token the pipeline's select-runner step and the runner exporter use to list runners.
ADMIN_LOGIN = "paws360-deploy"


@dataclass(frozen=True)
class WorldOptions:
    topology: Topology
    workdir: Path
    faults: Faults = field(default_factory=Faults)
    webhook_url: str | None = None
    rules_path: Path = REPO_ROOT / "deploy/prometheus/alerts.yml"
    # The App manifest a team creates the App from: the simulated GitHub grants exactly its permissions and
    # delivers exactly its events, so a permission the manifest lacks fails in the lab as it would on GitHub.
    manifest_path: Path = REPO_ROOT / "app.yml"
    alertmanager_path: Path = REPO_ROOT / "deploy/alertmanager/alertmanager.yml"
    dashboard_path: Path = REPO_ROOT / "deploy/grafana/dashboard.json"


@dataclass(frozen=True)
class LabSecrets:
    """Every secret the lab makes up at start; repr() shows none of them."""

    webhook_secret: str = field(repr=False)
    jira_token: str = field(repr=False)
    grafana_token: str = field(repr=False)
    admin_token: str = field(repr=False)  # the pipeline's and exporter's admin PAT (lists runners)
    user_tokens: dict[str, str] = field(repr=False)
    runner_tokens: dict[str, str] = field(repr=False)
    hosted_token: str = field(repr=False)

    @staticmethod
    def generate(topology: Topology) -> LabSecrets:
        def token(prefix: str) -> str:
            return f"{prefix}_{secrets.token_hex(18)}"

        return LabSecrets(
            webhook_secret=secrets.token_hex(20),
            jira_token=secrets.token_urlsafe(24),
            grafana_token=token("glsa"),
            admin_token=token("ghp"),
            user_tokens={u.login: token("ghp") for u in topology.users},
            runner_tokens={r.name: secrets.token_hex(16) for r in topology.runners},
            hosted_token=secrets.token_hex(16),
        )


@dataclass
class World:
    """A running lab."""

    options: WorldOptions
    truth: Truth
    secrets: LabSecrets
    units: UnitTable
    urls: dict[str, str] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    head_sha: str = ""
    ssh_hosts: list[SSHHostServer] = field(default_factory=list)
    github: RunningGitHub | None = None
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    watcher: monitoring.AlertWatcher | None = None

    @property
    def topology(self) -> Topology:
        return self.options.topology

    @property
    def release_dir(self) -> Path:
        return self.options.workdir / "hosts" / self.topology.backend.host / "release"

    def ssh_address(self, host: str) -> str:
        return next(h.address for h in self.ssh_hosts if h.name == host)

    def child(self, name: str, argv: tuple[str, ...]) -> subprocess.Popen[bytes]:
        proc = spawn(ProcessSpec(argv=argv, log_path=self.options.workdir / "logs" / f"{name}.log"))
        self.children.append(proc)
        return proc

    async def stop(self) -> None:
        """Ends every process and server the lab started, runner agents and services first."""
        if self.watcher is not None:
            await self.watcher.stop()
        await self.units.stop_all()
        await stop_hosts(self.ssh_hosts)
        await asyncio.gather(*(terminate(p) for p in self.children))
        if self.github is not None:
            await self.github.stop()


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


def sim_config(world: World, public_key: str) -> SimConfig:
    """The simulated GitHub of this topology, with the deployment pipeline shaped by the faults."""
    topo, faults, timing = world.topology, world.options.faults, world.topology.timing
    users = [
        UserSpec(login=u.login, permission=Permission(u.permission), token=world.secrets.user_tokens[u.login])
        for u in topo.users
    ]
    users.append(UserSpec(login=ADMIN_LOGIN, permission=Permission.ADMIN, token=world.secrets.admin_token))
    runners = tuple(
        RunnerSpec(
            name=r.name,
            # no-secondary: the secondary runner was registered without the production label.
            labels=tuple(
                label
                for label in r.labels
                if not (Fault.NO_SECONDARY in faults and r.role == "secondary" and label == "production")
            ),
            token=world.secrets.runner_tokens[r.name],
        )
        for r in topo.runners
    )
    params = PipelineParams(
        environment=topo.environment,
        primary_runner=topo.runner("primary").name,
        deploy_seconds=timing.slow_deploy_seconds if Fault.SLOW_DEPLOY in faults else timing.deploy_seconds,
        health_check_timeout=timing.health_check_timeout,
        health_check_interval=timing.health_check_interval,
        failover_seconds=timing.slow_failover_seconds if Fault.SLOW_FAILOVER in faults else 0.0,
        concurrency=Fault.NO_CONCURRENCY not in faults,
        rollback=Fault.NO_ROLLBACK not in faults,
    )
    workflow = deploy_workflow(params)
    manifest = app_manifest(world.options.manifest_path)
    workflow_path = f".github/workflows/{topo.workflow_file}"
    delivery = DeliveryFaults(
        drop_share=fault_values.WEBHOOK_LOSS_SHARE if Fault.WEBHOOK_LOSS in faults else 0.0,
        duplicate_share=fault_values.WEBHOOK_CHAOS_DUPLICATE_SHARE if Fault.WEBHOOK_CHAOS in faults else 0.0,
        max_delay=fault_values.WEBHOOK_CHAOS_MAX_DELAY if Fault.WEBHOOK_CHAOS in faults else 0.0,
    )
    flaky = (
        FlakyFaults(
            error_share=fault_values.GITHUB_FLAKY_ERROR_SHARE,
            rate_limit_every=fault_values.GITHUB_FLAKY_RATE_LIMIT_EVERY,
        )
        if Fault.GITHUB_FLAKY in faults
        else FlakyFaults()
    )
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
    )


def agent_spec(world: World, name: str) -> ProcessSpec:
    """The runner agent process of runner `name` (or the hosted pool), as the simulated GitHub describes it."""
    assert world.github is not None
    argv, env = world.github.agent_command(name)
    return ProcessSpec(argv=tuple(argv), log_path=world.options.workdir / "logs" / f"runner-{name}.log", env=env)


def _runner_states(world: World) -> dict[str, str]:
    url = f"{world.urls['github']}/repos/{world.topology.repository}/actions/runners?per_page=100"
    request = urllib.request.Request(url)  # noqa: S310 (lab loopback URL)
    request.add_header("Authorization", f"token {world.secrets.admin_token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
            body = json.load(answer)
    except (OSError, ValueError):
        return {}
    return {str(r["name"]): str(r["status"]) for r in body.get("runners", [])}


async def wait_runners_online(world: World, *, timeout: float) -> None:
    """Waits until GitHub lists every self-hosted runner of the topology online."""
    names = {r.name for r in world.topology.runners}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        states = await asyncio.to_thread(_runner_states, world)
        if all(states.get(n) == "online" for n in names):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"runners {sorted(names)} were not all online within {timeout:.0f} s")


def _app_key(world: World) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = world.options.workdir / "secrets" / "app.private-key.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pem)
    path.chmod(0o600)
    world.paths["app_private_key"] = path
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode()


def _runner_units(world: World) -> None:
    assert world.github is not None
    for runner in world.topology.runners:
        pid_file = world.options.workdir / "hosts" / runner.host / "run" / f"{runner.unit}.pid"
        world.units.add(
            Unit(
                name=runner.unit,
                host=runner.host,
                kind=UnitKind.RUNNER,
                subject=runner.name,
                spec=agent_spec(world, runner.name),
                pid_file=pid_file,
            )
        )


async def _start_ssh(world: World) -> None:
    client_key = asyncssh.generate_private_key("ssh-ed25519", comment="verify-staging lab client")
    for host in world.topology.hosts:
        world.ssh_hosts.append(
            await start_host(
                host, units=world.units, truth=world.truth, user=world.topology.ssh_user, client_key=client_key
            )
        )
    world.paths["ssh_key"] = world.options.workdir / "secrets" / "ssh_client_key"
    world.paths["known_hosts"] = world.options.workdir / "secrets" / "known_hosts"
    write_client_files(
        client_key=client_key,
        hosts=world.ssh_hosts,
        key_path=world.paths["ssh_key"],
        known_hosts_path=world.paths["known_hosts"],
    )


async def _start_monitoring(world: World) -> None:
    opts = world.options
    world.urls["alertmanager"] = f"http://127.0.0.1:{free_port()}"
    world.urls["oncall_receiver"] = world.urls["oncall"] + "/alerts"
    plan = monitoring.MonitoringPlan(
        workdir=opts.workdir / "monitoring",
        prometheus_port=_port(world.urls["prometheus"]),
        alertmanager_port=_port(world.urls["alertmanager"]),
        exporter=world.urls["exporter"].removeprefix("http://"),
        webhook_url=opts.webhook_url,
        rules_path=opts.rules_path,
        alertmanager_path=opts.alertmanager_path,
        receiver_url=world.urls["oncall_receiver"],
        for_scale=world.topology.timing.alert_for_scale,
        drop_rules=frozenset({MISSING_RULE}) if Fault.MISSING_ALERT_RULE in opts.faults else frozenset(),
        notify=Fault.NO_NOTIFICATION not in opts.faults,
    )
    prom_argv, am_argv = monitoring.monitoring_argvs(plan)
    am = world.child("alertmanager", am_argv)
    prom = world.child("prometheus", prom_argv)
    await asyncio.gather(
        wait_http(world.urls["alertmanager"] + "/-/ready", timeout=READY_TIMEOUT, proc=am),
        wait_http(world.urls["prometheus"] + "/-/ready", timeout=READY_TIMEOUT, proc=prom),
    )
    await monitoring.wait_target_up(world.urls["prometheus"], "runner-exporter", timeout=READY_TIMEOUT)
    world.watcher = monitoring.AlertWatcher(world.urls["prometheus"], world.truth)
    world.watcher.start()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def start_world(options: WorldOptions) -> World:
    """Starts the whole lab; on any failure stops what was started and re-raises."""
    options.workdir.mkdir(parents=True, exist_ok=True)
    world = World(
        options=options,
        truth=Truth(options.workdir / "lab-truth.jsonl"),
        secrets=LabSecrets.generate(options.topology),
        units=UnitTable(Truth(options.workdir / "lab-truth.jsonl")),
        head_sha=hashlib.sha1(options.topology.pull_request.head_ref.encode()).hexdigest(),  # noqa: S324
    )
    try:
        public_key = _app_key(world)
        await start_services(world)
        world.github = await start_github(sim_config(world, public_key))
        world.urls["github"] = str(world.github.url).rstrip("/")
        world.children.append(spawn(agent_spec(world, HOSTED_NAME)))
        _runner_units(world)
        await asyncio.gather(*(u.start(world.truth) for u in world.units.all() if u.kind is UnitKind.RUNNER))
        await start_exporter(world)
        await _start_ssh(world)
        await asyncio.gather(
            _start_monitoring(world),
            wait_runners_online(world, timeout=READY_TIMEOUT),
        )
    except BaseException:
        await world.stop()
        raise
    return world
