"""bot/ssh.py against a local asyncssh server: commands run, host keys are verified, wrong keys are refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from bot.ports import SSHError
from bot.settings import SSHHost, SSHSettings
from bot.ssh import AsyncSSH
from tests.support.ports import closed_port


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True


async def _handle(process: asyncssh.SSHServerProcess[str]) -> None:
    command = process.command or ""
    if command.startswith("sleep"):
        await asyncio.sleep(5)
    process.stdout.write(f"ran: {command}\n")
    process.exit(0 if "fail" not in command else 3)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[int, Path, Path]]:
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "id").write_bytes(client_key.export_private_key())
    (tmp_path / "authorized").write_bytes(client_key.export_public_key())
    srv = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[host_key], authorized_client_keys=str(tmp_path / "authorized"),
        process_factory=_handle, server_factory=_Server,
    )  # fmt: skip
    port = srv.sockets[0].getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n")
    yield port, tmp_path / "id", known
    srv.close()
    await srv.wait_closed()


def _ssh(port: int, key: Path, known: Path, *, timeout: float = 30) -> AsyncSSH:
    settings = SSHSettings(user="deploy", hosts={"runner": SSHHost("127.0.0.1", port)}, command_timeout=timeout)
    return AsyncSSH(ssh=settings, key_path=str(key), known_hosts=str(known))


async def test_runs_argv_quoted_and_reuses_the_connection(server: tuple[int, Path, Path]) -> None:
    ssh = _ssh(*server)
    try:
        first = await ssh.run("runner", ["sudo", "systemctl", "stop", "actions.runner.*.service"])
        second = await ssh.run("runner", ["echo", "fail; rm -rf /"])
    finally:
        await ssh.close()
    assert first.exit_status == 0
    assert first.stdout == "ran: sudo systemctl stop 'actions.runner.*.service'\n"
    assert second.exit_status == 3 and second.stdout == "ran: echo 'fail; rm -rf /'\n"


async def test_unknown_host_key_is_refused(server: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, key, _ = server
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[127.0.0.1]:{port} {other}\n")
    with pytest.raises(SSHError) as err:
        await _ssh(port, key, wrong).run("runner", ["true"])
    assert err.value.kind == "host-key"
    assert "not in SSH_KNOWN_HOSTS" in str(err.value)


async def test_wrong_client_key_is_an_auth_error(server: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, _, known = server
    stranger = tmp_path / "stranger"
    stranger.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    with pytest.raises(SSHError) as err:
        await _ssh(port, stranger, known).run("runner", ["true"])
    assert err.value.kind == "auth"
    assert "refused the SSH key for user deploy" in str(err.value)


async def test_unreachable_and_timeout_and_unknown_host(server: tuple[int, Path, Path], tmp_path: Path) -> None:
    port, key, known = server
    ssh = _ssh(port, key, known, timeout=0.2)
    try:
        with pytest.raises(SSHError) as slow:
            await ssh.run("runner", ["sleep", "5"])
        with pytest.raises(SSHError) as unknown:
            await ssh.run("elsewhere", ["true"])
    finally:
        await ssh.close()
    assert slow.value.kind == "timeout"
    assert unknown.value.kind == "other"
    closed = closed_port()
    with pytest.raises(SSHError) as refused:
        await _ssh(closed, key, known).run("runner", ["true"])
    assert refused.value.kind == "unreachable"
