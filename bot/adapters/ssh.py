"""Running the few commands the scenarios need (systemctl stop/start) on staging hosts over SSH (bot.ports.SSHPort).

Host addresses come from settings (`ssh.hosts`), the key and known_hosts from SSH_KEY_PATH / SSH_KNOWN_HOSTS.
Host keys are always verified against known_hosts. One connection per host is kept and reused, with SSH
keepalives; a connection that timed out or failed in any way is closed and forgotten, so the next command opens a
new one. `fresh=True` (every undo attempt) always opens a new connection.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence

import asyncssh

from bot.ports import CommandResult, SSHError, SSHErrorKind
from bot.settings import SSHSettings


class AsyncSSH:
    """bot.ports.SSHPort on asyncssh."""

    def __init__(self, *, ssh: SSHSettings, key_path: str, known_hosts: str) -> None:
        self._settings = ssh
        self._key_path = key_path
        self._known_hosts = known_hosts
        self._conns: dict[str, asyncssh.SSHClientConnection] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def run(
        self, host: str, argv: Sequence[str], *, timeout: float | None = None, fresh: bool = False
    ) -> CommandResult:
        command = shlex.join(argv)
        limit = timeout if timeout is not None else self._settings.command_timeout
        if fresh:
            await self._evict(host)
        maybe_sent = False
        for attempt in range(2):
            try:
                conn = await self._connection(host)
            except SSHError as exc:
                if maybe_sent:
                    # The first attempt may have run the command: "never sent" would be a lie an undo relies on.
                    raise SSHError(f"{host}: connection lost, then {exc}", host=host, kind=SSHErrorKind.LOST) from exc
                raise
            try:
                result = await asyncio.wait_for(conn.run(command, check=False), limit)
            except TimeoutError as exc:
                # A command that hangs may sit on a dead connection: never hand that connection out again.
                await self._evict(host, conn)
                raise SSHError(
                    f"{host}: `{command}` did not finish within {limit:g} s", host=host, kind=SSHErrorKind.TIMEOUT
                ) from exc
            except asyncssh.ChannelOpenError as exc:
                # The session was refused before the command was sent: safe to try once more on a new connection.
                await self._evict(host, conn)
                if attempt:
                    kind = SSHErrorKind.LOST if maybe_sent else SSHErrorKind.UNREACHABLE
                    raise SSHError(f"{host}: no session could be opened ({exc})", host=host, kind=kind) from exc
                continue
            except (asyncssh.Error, OSError) as exc:
                # ConnectionLost, DisconnectError, BrokenPipe...: the command may or may not have run. A reused
                # connection the host closed meanwhile is the usual cause: reconnect once.
                await self._evict(host, conn)
                maybe_sent = True
                if attempt:
                    raise SSHError(f"{host}: connection lost ({exc})", host=host, kind=SSHErrorKind.LOST) from exc
                continue
            return CommandResult(
                exit_status=result.exit_status if result.exit_status is not None else -1,
                stdout=_text(result.stdout),
                stderr=_text(result.stderr),
            )
        raise SSHError(f"{host}: connection lost", host=host, kind=SSHErrorKind.LOST)  # pragma: no cover

    async def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        await asyncio.gather(*(c.wait_closed() for c in self._conns.values()), return_exceptions=True)
        self._conns.clear()

    async def _evict(self, host: str, conn: asyncssh.SSHClientConnection | None = None) -> None:
        """Forget the host's cached connection (only `conn`, when given, so a newer one is kept) and close it."""
        victim = conn if conn is not None else self._conns.get(host)
        if victim is not None and self._conns.get(host) is victim:
            del self._conns[host]
        if victim is not None:
            victim.close()

    async def _connection(self, host: str) -> asyncssh.SSHClientConnection:
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            conn = self._conns.get(host)
            if conn is None or conn.is_closed():
                conn = await self._connect(host)
                self._conns[host] = conn
            return conn

    async def _connect(self, host: str) -> asyncssh.SSHClientConnection:
        target = self._settings.hosts.get(host)
        if target is None:
            raise SSHError(f"{host} is not a host in the settings (ssh.hosts)", host=host, kind=SSHErrorKind.OTHER)
        where = f"{target.address}:{target.port}"
        try:
            return await asyncssh.connect(
                target.address,
                port=target.port,
                username=self._settings.user,
                client_keys=[self._key_path],
                known_hosts=self._known_hosts,
                connect_timeout=self._settings.connect_timeout,
                keepalive_interval=self._settings.keepalive_interval,
                keepalive_count_max=3,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise SSHError(
                f"{host} ({where}) presented a host key that is not in SSH_KNOWN_HOSTS; refusing to connect",
                host=host,
                kind=SSHErrorKind.HOST_KEY,
            ) from exc
        except asyncssh.PermissionDenied as exc:
            raise SSHError(f"{host} ({where}) refused the SSH key for user {self._settings.user}", host=host,
                           kind=SSHErrorKind.AUTH) from exc  # fmt: skip
        except TimeoutError as exc:
            raise SSHError(f"{host} ({where}) did not answer within {self._settings.connect_timeout:g} s",
                           host=host, kind=SSHErrorKind.TIMEOUT) from exc  # fmt: skip
        except (OSError, asyncssh.Error) as exc:
            raise SSHError(f"{host} ({where}) is unreachable: {exc}", host=host, kind=SSHErrorKind.UNREACHABLE) from exc


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value) if value is not None else ""
