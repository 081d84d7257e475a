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
    try:
        yield port, tmp_path / "id", known
    finally:
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


# --- issue 12: a broken connection is never reused; every asyncssh error becomes an SSHError ----------------------


class _CountingServer(asyncssh.SSHServer):
    """Counts connections; refuses the first `refuse` session requests (the client sees ChannelOpenError)."""

    connections = 0
    refuse = 0

    def begin_auth(self, username: str) -> bool:
        return True

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        type(self).connections += 1

    def session_requested(self) -> asyncssh.SSHServerSession[str] | bool:
        if type(self).refuse > 0:
            type(self).refuse -= 1
            return False
        return _EchoSession()


class _EchoSession(asyncssh.SSHServerSession[str]):
    def connection_made(self, chan: asyncssh.SSHServerChannel[str]) -> None:
        self._chan = chan
        self._command = ""

    def exec_requested(self, command: str) -> bool:
        self._command = command
        return True

    def session_started(self) -> None:
        if self._command.startswith("sleep"):
            return  # never answers: the client's timeout must fire
        self._chan.write(f"ran: {self._command}\n")
        self._chan.exit(0)


@pytest.fixture
async def counting(tmp_path: Path) -> AsyncIterator[AsyncSSH]:
    _CountingServer.connections, _CountingServer.refuse = 0, 0
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "id").write_bytes(client_key.export_private_key())
    (tmp_path / "authorized").write_bytes(client_key.export_public_key())
    srv = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[host_key], authorized_client_keys=str(tmp_path / "authorized"),
        server_factory=_CountingServer,
    )  # fmt: skip
    port = srv.sockets[0].getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode().strip()}\n")
    ssh = _ssh(port, tmp_path / "id", known, timeout=0.3)
    try:
        yield ssh
    finally:
        await ssh.close()
        srv.close()
        await srv.wait_closed()


async def test_a_timed_out_connection_is_evicted_and_the_next_command_reconnects(counting: AsyncSSH) -> None:
    assert (await counting.run("runner", ["true"])).stdout == "ran: true\n"
    with pytest.raises(SSHError) as slow:
        await counting.run("runner", ["sleep", "60"])
    assert slow.value.kind == "timeout"
    assert (await counting.run("runner", ["true"])).exit_status == 0
    assert _CountingServer.connections == 2


async def test_a_refused_session_is_an_ssh_error_and_is_retried_on_a_new_connection(counting: AsyncSSH) -> None:
    assert (await counting.run("runner", ["true"])).exit_status == 0
    _CountingServer.refuse = 1  # the cached connection answers ChannelOpenError once
    result = await counting.run("runner", ["sudo", "systemctl", "start", "x.service"])
    assert result.stdout == "ran: sudo systemctl start x.service\n"
    assert _CountingServer.connections == 2
    _CountingServer.refuse = 5  # every session refused: an SSHError that says the command was never sent
    with pytest.raises(SSHError) as refused:
        await counting.run("runner", ["true"])
    assert refused.value.kind == "unreachable"


async def test_fresh_opens_a_new_connection_even_when_one_is_cached(counting: AsyncSSH) -> None:
    await counting.run("runner", ["true"])
    await counting.run("runner", ["true"])
    assert _CountingServer.connections == 1
    await counting.run("runner", ["sudo", "systemctl", "start", "x.service"], fresh=True)
    assert _CountingServer.connections == 2
