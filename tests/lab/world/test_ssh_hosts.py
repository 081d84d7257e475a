"""SSH hosts of the lab: systemctl over real SSH stops and starts real processes; host keys are checked."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest
import requests

from lab.services import service_argv
from lab.ssh import SSHHostServer, start_host, stop_hosts, write_client_files
from lab.truth import Truth
from lab.units import ProcessSpec, Unit, UnitKind, UnitTable, free_port

HOST = "staging-backend-host"
USER = "deploy"


class Lab:
    def __init__(self, tmp: Path, server: SSHHostServer, units: UnitTable, backend_url: str) -> None:
        self.tmp = tmp
        self.server = server
        self.units = units
        self.backend_url = backend_url
        self.key = tmp / "client_key"
        self.known_hosts = tmp / "known_hosts"

    def connect(self, **extra: object) -> Any:
        options = {"known_hosts": str(self.known_hosts), "client_keys": [str(self.key)], "username": USER, **extra}
        return asyncssh.connect("127.0.0.1", self.server.port, **options)

    async def run(self, command: str) -> asyncssh.SSHCompletedProcess:
        async with self.connect() as conn:
            result: asyncssh.SSHCompletedProcess = await conn.run(command, check=False)
            return result


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    truth = Truth(tmp_path / "lab-truth.jsonl")
    units = UnitTable(truth)
    release = tmp_path / "release"
    release.mkdir()
    (release / "current").write_text("1.0.0")
    port = free_port()
    config = tmp_path / "backend.json"
    config.write_text(json.dumps({"port": port, "release_dir": str(release)}))
    url = f"http://127.0.0.1:{port}"
    units.add(
        Unit(
            name="paws360-backend.service",
            host=HOST,
            kind=UnitKind.SERVICE,
            subject="paws360-backend",
            spec=ProcessSpec(argv=service_argv("backend", str(config)), log_path=tmp_path / "backend.log"),
            ready_url=url + "/actuator/health",
        )
    )
    await units.start_all()
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    server = await start_host(HOST, units=units, truth=truth, user=USER, client_key=client_key)
    lab = Lab(tmp_path, server, units, url)
    write_client_files(client_key=client_key, hosts=[server], key_path=lab.key, known_hosts_path=lab.known_hosts)
    try:
        yield lab
    finally:
        await stop_hosts([server])
        await units.stop_all()


async def test_stopping_the_backend_over_ssh_refuses_health_checks_and_start_brings_it_back(lab: Lab) -> None:
    assert requests.get(lab.backend_url + "/actuator/health", timeout=5).json()["status"] == "UP"

    stopped = await lab.run("sudo systemctl stop paws360-backend")
    assert stopped.exit_status == 0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(lab.backend_url + "/actuator/health", timeout=5)
    inactive = await lab.run("systemctl is-active paws360-backend.service")
    assert (inactive.exit_status, inactive.stdout) == (3, "inactive\n")

    started = await lab.run("sudo systemctl start 'paws360-*'")
    assert started.exit_status == 0
    assert requests.get(lab.backend_url + "/actuator/info", timeout=5).json()["build"]["version"] == "1.0.0"

    events = [e.event for e in Truth(lab.tmp / "lab-truth.jsonl").events()]
    assert events.count("service_stopped") == 1
    assert events.count("ssh_command") == 3


async def test_status_and_unknown_units_answer_like_systemctl(lab: Lab) -> None:
    status = await lab.run("sudo -n systemctl status paws360-backend")
    assert status.exit_status == 0
    assert "active (running)" in str(status.stdout)
    missing = await lab.run("sudo systemctl stop nginx")
    assert missing.exit_status == 5
    assert "nginx.service" in str(missing.stderr)
    empty_glob = await lab.run("sudo systemctl stop 'actions.runner.*.service'")
    assert empty_glob.exit_status == 0


@pytest.mark.parametrize("command", ["rm -rf /", "ls; systemctl stop paws360-backend", "bash -c 'id'", "'unclosed"])
async def test_anything_but_systemctl_exits_127_and_touches_nothing(lab: Lab, command: str) -> None:
    result = await lab.run(command)
    assert result.exit_status == 127
    assert result.stderr
    assert lab.units.get(HOST, "paws360-backend").is_active()


async def test_wrong_host_key_is_rejected_by_a_verifying_client(lab: Lab) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519")
    line = f"[127.0.0.1]:{lab.server.port} {impostor.export_public_key().decode().strip()}\n"
    lab.known_hosts.write_text(line)
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with lab.connect():
            pass


async def test_an_unknown_client_key_or_user_is_refused(lab: Lab) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab.connect(client_keys=[stranger]):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with lab.connect(username="root"):
            pass


# --- issue 12: systemctl as the bot relies on it -------------------------------------------------------------------


async def test_list_units_expands_a_glob_into_loaded_units_in_systemds_columns(lab: Lab) -> None:
    listed = await lab.run("systemctl list-units --all --plain --no-legend 'paws360-*'")
    assert listed.exit_status == 0
    assert str(listed.stdout).splitlines() == ["paws360-backend.service loaded active running paws360-backend"]
    nothing = await lab.run("systemctl list-units --all --plain --no-legend 'actions.runner.*.service'")
    assert (nothing.exit_status, nothing.stdout) == (0, "")
    await lab.run("sudo systemctl stop paws360-backend")
    stopped = await lab.run("systemctl list-units --all --plain --no-legend 'paws360-*'")
    assert str(stopped.stdout).split()[:4] == ["paws360-backend.service", "loaded", "inactive", "dead"]


async def test_a_glob_matching_no_loaded_unit_starts_nothing_and_still_exits_0(lab: Lab) -> None:
    await lab.run("sudo systemctl stop paws360-backend")
    started = await lab.run("sudo systemctl start 'paws360-backend-*'")
    assert started.exit_status == 0
    inactive = await lab.run("systemctl is-active paws360-backend.service")
    assert (inactive.exit_status, inactive.stdout) == (3, "inactive\n")


async def test_a_unit_set_to_fail_exits_0_on_start_but_is_active_says_failed(lab: Lab) -> None:
    await lab.run("sudo systemctl stop paws360-backend")
    lab.units.get(HOST, "paws360-backend").fails_to_start = True
    started = await lab.run("sudo systemctl start paws360-backend")
    assert started.exit_status == 0
    state = await lab.run("systemctl is-active paws360-backend")
    assert (state.exit_status, state.stdout) == (3, "failed\n")
    lab.units.get(HOST, "paws360-backend").fails_to_start = False
    assert (await lab.run("sudo systemctl start paws360-backend")).exit_status == 0
    active = await lab.run("systemctl is-active paws360-backend")
    assert (active.exit_status, active.stdout) == (0, "active\n")
    events = [e.event for e in Truth(lab.tmp / "lab-truth.jsonl").events()]
    assert "service_start_failed" in events
