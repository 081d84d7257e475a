"""The lab's SSH hosts: one asyncssh server per host, each with its own host key, that understand `systemctl`.

Accepted: `[sudo [-n]] systemctl stop|start|restart|is-active|status UNIT...` with shell-style globs, and
`systemctl list-units [--all] [--plain] [--no-legend] [PATTERN...]`, parsed with shlex and never run by a shell;
they act on the lab's unit table. As systemd does, a glob matches loaded units only (the table) and a glob that
matches nothing is silently nothing: `start` exits 0 and starts nothing. Anything else exits 127 with a message. Every
command is recorded in lab-truth.jsonl as `ssh_command`. `write_client_files` writes the client key and the
known_hosts file the bot uses.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from lab.truth import Truth
from lab.units import Unit, UnitTable, unit_name

ACTIONS = ("stop", "start", "restart", "is-active", "status", "list-units")
LIST_UNITS_OPTIONS = ("--all", "--plain", "--no-legend")
NOT_FOUND = 127


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class SSHHostServer:
    name: str
    port: int
    host_key: asyncssh.SSHKey
    acceptor: asyncssh.SSHAcceptor

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _status_text(unit: Unit) -> str:
    state = (
        "active (running)" if unit.is_active() else ("failed (Result: exit-code)" if unit.failed else "inactive (dead)")
    )
    main_pid = f"\n   Main PID: {unit.pid}" if unit.pid is not None else ""
    return f"● {unit.name}\n     Loaded: loaded\n     Active: {state}{main_pid}\n"


async def run_systemctl(units: UnitTable, host: str, argv: list[str]) -> CommandResult:
    """systemctl's behaviour on the lab's units (exit codes as systemd documents them)."""
    if len(argv) < 3 or argv[1] not in ACTIONS:
        return CommandResult(1, stderr=f"systemctl: unsupported arguments: {' '.join(argv[1:])}\n")
    action, patterns = argv[1], argv[2:]
    if action == "list-units":
        return _list_units(units, host, patterns)
    matched: list[Unit] = []
    for pattern in patterns:
        found = units.match(host, pattern)
        if not found and not any(c in pattern for c in "*?["):
            # systemctl: a named unit that does not exist fails; an empty glob is silently nothing.
            if action == "is-active":
                return CommandResult(3, stdout="inactive\n")
            if action == "status":
                return CommandResult(4, stderr=f"Unit {unit_name(pattern)} could not be found.\n")
            missing = unit_name(pattern)
            return CommandResult(5, stderr=f"Failed to {action} {missing}: Unit {missing} not loaded.\n")
        matched.extend(found)
    if action == "is-active":
        lines = "".join(f"{u.active_state}\n" for u in matched)
        return CommandResult(0 if matched and all(u.is_active() for u in matched) else 3, stdout=lines)
    if action == "status":
        text = "\n".join(_status_text(u) for u in matched)
        return CommandResult(0 if matched and all(u.is_active() for u in matched) else 3, stdout=text)
    for unit in matched:
        if action in ("stop", "restart"):
            await unit.stop(units.truth)
        if action in ("start", "restart"):
            await unit.start(units.truth)
    return CommandResult(0)


def _list_units(units: UnitTable, host: str, args: list[str]) -> CommandResult:
    """`systemctl list-units --all --plain --no-legend [PATTERN...]`: one line per loaded unit that matches, in
    systemd's columns (UNIT LOAD ACTIVE SUB DESCRIPTION); no match is an empty answer with exit 0."""
    options = [a for a in args if a.startswith("-")]
    unknown = [o for o in options if o not in LIST_UNITS_OPTIONS]
    if unknown:
        return CommandResult(1, stderr=f"systemctl: unrecognized option '{unknown[0]}'\n")
    patterns = [a for a in args if not a.startswith("-")]
    listed = units.on_host(host) if not patterns else [u for p in patterns for u in units.match(host, p)]
    if "--all" not in options:
        listed = [u for u in listed if u.is_active() or u.failed]
    lines = []
    for unit in {u.name: u for u in listed}.values():
        sub = "running" if unit.is_active() else ("failed" if unit.failed else "dead")
        lines.append(f"{unit.name} loaded {unit.active_state} {sub} {unit.subject}\n")
    return CommandResult(0, stdout="".join(lines))


async def run_command(units: UnitTable, host: str, command: str) -> CommandResult:
    """One SSH exec request: parsed with shlex; only systemctl is known."""
    try:
        argv = shlex.split(command)
    except ValueError as error:
        return CommandResult(NOT_FOUND, stderr=f"bash: {error}\n")
    if argv and argv[0] == "sudo":
        argv = argv[1:]
        while argv and argv[0].startswith("-"):
            argv = argv[1:]
    if not argv or argv[0] not in ("systemctl", "/usr/bin/systemctl", "/bin/systemctl"):
        name = argv[0] if argv else ""
        return CommandResult(NOT_FOUND, stderr=f"bash: {name}: command not found\n")
    return await run_systemctl(units, host, argv)


class _HostAuth(asyncssh.SSHServer):
    """Public-key auth for exactly one user and one client key."""

    def __init__(self, user: str, client_key: asyncssh.SSHKey) -> None:
        self._user = user
        self._client_key = client_key

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._user and key.public_data == self._client_key.public_data


async def start_host(
    name: str, *, units: UnitTable, truth: Truth, user: str, client_key: asyncssh.SSHKey
) -> SSHHostServer:
    """Starts the SSH server of lab host `name` on a free loopback port, with a host key of its own."""
    host_key = asyncssh.generate_private_key("ssh-ed25519", comment=f"lab host {name}")

    async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
        command = process.command or ""
        result = await run_command(units, name, command)
        truth.record("ssh_command", host=name, user=user, command=command, exit_status=result.exit_status)
        process.stdout.write(result.stdout)
        process.stderr.write(result.stderr)
        process.exit(result.exit_status)

    acceptor = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_factory=lambda: _HostAuth(user, client_key),
        server_host_keys=[host_key],
        process_factory=handle,
        encoding="utf-8",
    )
    return SSHHostServer(name=name, port=acceptor.get_port(), host_key=host_key, acceptor=acceptor)


def write_client_files(
    *, client_key: asyncssh.SSHKey, hosts: list[SSHHostServer], key_path: Path, known_hosts_path: Path
) -> None:
    """The bot's side: its private key (mode 0600) and a known_hosts with each host's key as `[127.0.0.1]:port`."""
    key_path.parent.mkdir(parents=True, exist_ok=True)
    client_key.write_private_key(str(key_path))
    key_path.chmod(0o600)
    lines = [f"[127.0.0.1]:{h.port} {h.host_key.export_public_key().decode().strip()}" for h in hosts]
    known_hosts_path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def stop_hosts(hosts: list[SSHHostServer]) -> None:
    for host in hosts:
        host.acceptor.close()
    for host in hosts:
        await host.acceptor.wait_closed()
