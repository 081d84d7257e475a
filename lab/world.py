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

import asyncssh
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lab import monitoring
from lab.fault_control import install_fault_control
from lab.faults import MISSING_RULE, Fault, Faults
from lab.github.runners import HOSTED_NAME
from lab.github.server import RunningGitHub, start_github
from lab.services.launch import start_exporter, start_services
from lab.sim_setup import sim_config
from lab.ssh import SSHHostServer, start_host, stop_hosts, write_client_files
from lab.topology import Topology
from lab.truth import Truth
from lab.units import ProcessSpec, Unit, UnitKind, UnitTable, free_port, spawn, terminate, wait_http

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 20.0


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
    # Write every answer of the simulated GitHub to github/answers.jsonl (tests check them against GitHub's schemas).
    record_answers: bool = False


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
    # What `POST /_lab/faults` changes at run time (lab/fault_control.py).
    monitoring_plan: monitoring.MonitoringPlan | None = None
    monitoring_procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

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
    world.monitoring_plan, world.monitoring_procs = plan, {"prometheus": prom, "alertmanager": am}
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
        install_fault_control(world)
    except BaseException:
        await world.stop()
        raise
    return world
