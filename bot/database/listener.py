"""Wakes a replica as soon as another one writes something for it: PostgreSQL's LISTEN on a connection of its own,
kept up (reconnected with a bounded backoff) for as long as the replica runs.

A connection of its own (`asyncpg.connect` with the pool's URL), not one acquired from the pool and held: a held
connection would take one of the pool's few connections for the process's whole life, `pool.close()` waits for it to
be given back (the stop order would matter), and after a drop the pool would hand out another that is not listening.
A LISTEN belongs to one session, so the listener owns that session's whole life: connect, LISTEN, watch, reconnect.

What is notified while no connection listens (a restart of PostgreSQL, a dropped connection) is lost; every
reconnection therefore wakes the waiter, which reads what it may have missed, and the waiter polls anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import structlog

from bot.background import BackgroundTask
from bot.database.base import unavailable

log = structlog.get_logger(__name__)

#: Reconnection backoff: the first retry after this, doubling up to BACKOFF_MAX_SECONDS.
BACKOFF_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
#: A connection that dropped silently (no FIN: a NAT or a failover that forgot it) is found by asking it something.
CHECK_SECONDS = 30.0
CHECK_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 10.0

_CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class PostgresListener:
    """bot.database.base.Listener on PostgreSQL. Starts connecting at once (in the running event loop)."""

    def __init__(self, url: str, *, channel: str, ignore: str | None = None) -> None:
        # The URL may carry a password: it goes to the driver only; errors are logged through `unavailable`.
        self._url, self._channel, self._ignore = url, channel, ignore
        self._notified = asyncio.Event()
        self._conn: Any = None  # asyncpg.Connection while listening
        self._task = BackgroundTask(f"listener {channel}")
        self._task.start(self._keep_listening)

    @property
    def connection_id(self) -> int | None:
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._notified.wait(), seconds)
        self._notified.clear()

    async def close(self) -> None:
        await self._task.stop()

    def _on_notification(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload != self._ignore:
            self._notified.set()

    async def _keep_listening(self) -> None:
        delay = BACKOFF_SECONDS
        was_lost = False
        while True:
            try:
                conn = await asyncpg.connect(dsn=self._url, timeout=CONNECT_TIMEOUT_SECONDS)
            except _CONNECTION_ERRORS as exc:
                if not was_lost:  # logged once per outage, not once per attempt
                    log.warning("listener not connected", channel=self._channel, error=unavailable(self._url, exc))
                    was_lost = True
                await asyncio.sleep(delay)  # backing off between attempts, not waiting for a condition
                delay = min(delay * 2, BACKOFF_MAX_SECONDS)
                continue
            try:
                await self._listen_on(conn, reconnected=was_lost)
                error = "the connection closed"
            except _CONNECTION_ERRORS as exc:
                error = unavailable(self._url, exc)
            finally:
                self._conn = None
                conn.terminate()  # no goodbye: the server has gone or will see the socket close
            log.warning("listener lost its connection", channel=self._channel, error=error)
            was_lost, delay = True, BACKOFF_SECONDS

    async def _listen_on(self, conn: Any, *, reconnected: bool) -> None:
        """Listen until the connection drops (returns, or raises what the check query met)."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self._channel, self._on_notification)
        self._conn = conn
        if reconnected:
            log.info("listener reconnected", channel=self._channel)
        self._notified.set()  # whatever was sent while no one listened: the waiter reads it now
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), CHECK_SECONDS)
            if not lost.is_set():
                await conn.execute("SELECT 1", timeout=CHECK_TIMEOUT_SECONDS)
