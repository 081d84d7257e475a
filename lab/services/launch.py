"""Starts the stand-in services of a lab world: backend and frontend as units of the backend host, JIRA, Grafana,
the on-call receiver and the runner exporter, each from a JSON config the lab writes (mode 0600: it holds tokens).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.faults import Fault
from lab.pipeline import COMPONENT_DIRS
from lab.services import EXIT_PORT_TAKEN, service_argv
from lab.units import ProcessSpec, Unit, UnitKind, free_port, wait_http

if TYPE_CHECKING:
    from lab.world import World

READY_TIMEOUT = 20.0
# A free port is picked, released, then bound by the service a moment later; another process (a second lab, a
# test) can take it in between. The service then exits EXIT_PORT_TAKEN and starts again on another port.
PORT_ATTEMPTS = 5


def _service_config(world: World, name: str, config: dict[str, Any]) -> str:
    path = world.options.workdir / "services" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def backend_state_path(world: World) -> Path:
    return world.options.workdir / "services" / "backend-state.json"


def write_backend_state(world: World, *, redis_up: bool) -> None:
    """The backend's run-time switches (fault redis-down), read on every health request."""
    path = backend_state_path(world)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"redis_up": redis_up}), encoding="utf-8")
    temporary.replace(path)  # atomic: a health request never reads half a file


async def start_services(world: World) -> None:
    """Backend and frontend (units of the backend host), JIRA, Grafana and the on-call receiver."""
    topo, faults = world.topology, world.options.faults
    for place in COMPONENT_DIRS.values():
        component = world.release_dir / place
        component.mkdir(parents=True, exist_ok=True)
        (component / "current").write_text(topo.backend.initial_version, encoding="utf-8")
        (component / "previous").write_text("", encoding="utf-8")
    ports = {name: free_port() for name in ("backend", "frontend", "prometheus")}
    world.urls.update({name: f"http://127.0.0.1:{port}" for name, port in ports.items()})
    release = str(world.release_dir)
    backend = {
        "port": ports["backend"],
        "release_dir": release,
        "redis_up": Fault.REDIS_DOWN not in faults,
        "extra_components": [list(c) for c in topo.backend.extra_components],
        "artifact": topo.backend.unit.removesuffix(".service"),
        "state_path": str(backend_state_path(world)),
    }
    write_backend_state(world, redis_up=Fault.REDIS_DOWN not in faults)
    for name, unit, config in (
        ("backend", topo.backend.unit, backend),
        (
            "frontend",
            topo.backend.frontend_unit,
            {"port": ports["frontend"], "release_dir": str(world.release_dir / COMPONENT_DIRS["frontend"])},
        ),
    ):
        world.units.add(
            Unit(
                name=unit if "." in unit else f"{unit}.service",
                host=topo.backend.host,
                kind=UnitKind.SERVICE,
                subject=unit,
                spec=ProcessSpec(
                    argv=service_argv(name, _service_config(world, name, config)),
                    log_path=world.options.workdir / "logs" / f"{name}.log",
                ),
                ready_url=world.urls[name] + "/",
            )
        )
    jira = {
        "token": world.secrets.jira_token,
        "user": topo.jira.user,
        "password": topo.jira.password,
        "issue": topo.jira.issue,
        "summary": topo.jira.summary,
        "status": topo.jira.status,
    }
    grafana = {
        "token": world.secrets.grafana_token,
        "prometheus_url": world.urls["prometheus"],
        "dashboard_path": str(world.options.dashboard_path),
        "dashboard_uid": topo.dashboard_uid,
    }
    oncall = {"truth_log": str(world.truth.path)}
    await asyncio.gather(
        world.units.start_all(),
        *(
            _start_on_free_port(world, name, config)
            for name, config in (("jira", jira), ("grafana", grafana), ("oncall", oncall))
        ),
    )


async def _start_on_free_port(world: World, name: str, config: dict[str, Any], ready_path: str = "/") -> None:
    """Starts service `name` with `config` on a free port, again on another if that one was taken meanwhile;
    sets world.urls[name] once it answers."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        proc = world.child(name, service_argv(name, _service_config(world, name, {**config, "port": port})))
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_http(url + ready_path, timeout=READY_TIMEOUT, proc=proc)
        except RuntimeError:
            if proc.poll() != EXIT_PORT_TAKEN or attempt == PORT_ATTEMPTS:
                raise
            world.children.remove(proc)
            continue
        world.urls[name] = url
        return


async def start_exporter(world: World) -> None:
    assert world.github is not None
    config = {
        "github_api_url": world.github.url,
        "github_token": world.secrets.admin_token,
        "repository": world.topology.repository,
        "runners": [
            {
                "name": r.name,
                "pid_file": str(world.options.workdir / "hosts" / r.host / "run" / f"{r.unit}.pid"),
                "work_dir": str(world.options.workdir / "hosts" / r.host),
            }
            for r in world.topology.runners
        ],
    }
    await _start_on_free_port(world, "exporter", config, "/metrics")
