"""The doctor's read-only look at the PostgreSQL database of DATABASE_URL: it answers, the schema version it holds,
and whether a notification sent on one connection reaches another that listens, as replicas need."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

from bot.database.base import database_where, unavailable
from bot.database.postgres import PostgresDatabase
from bot.doctor.database_checks import StoreAnswer, StoreUnreachable
from bot.texts import doctor as texts

CONNECT_TIMEOUT_SECONDS = 10.0
#: How long the round trip waits for its notification (on one server it takes milliseconds).
NOTIFICATION_WAIT_SECONDS = 3.0
#: Not the relay's channel (bot/store/replicas.py): the probe must not wake the replicas.
PROBE_CHANNEL = "verify_staging_doctor"

_CONNECTION_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

#: (connection, channel, called with each payload): subscribe the connection to the channel's notifications.
Subscribe = Callable[[Any, str, Callable[[str], None]], Awaitable[None]]


async def listen(conn: Any, channel: str, on_payload: Callable[[str], None]) -> None:
    """PostgreSQL's LISTEN, as the relay's listener does it (bot/database/listener.py)."""
    await conn.add_listener(channel, lambda _conn, _pid, _channel, payload: on_payload(payload))


class PostgresProbe:
    """bot.doctor.database_checks.StoreProbe for a `postgresql://` URL. `subscribe`: how the listening connection
    subscribes (a test's stands in for a pooler that loses the session's LISTEN); `wait`: seconds for the round trip.
    """

    def __init__(self, url: str, *, subscribe: Subscribe = listen, wait: float = NOTIFICATION_WAIT_SECONDS) -> None:
        # The URL may carry a password: it goes to the driver only; every message is built by `unavailable`.
        self._url, self._subscribe, self._wait = url, subscribe, wait

    @property
    def where(self) -> str:
        return texts.POSTGRES_WHERE.format(where=database_where(self._url))

    async def answer(self) -> StoreAnswer:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")
            # Read where bot/database/postgres.py records it (a table, absent before the first start); its query
            # methods run on one connection as on a pool.
            schema = await PostgresDatabase(conn, url=self._url).schema_version()
        return StoreAnswer(texts.POSTGRES_ANSWERS, schema)

    async def notifications(self) -> bool:
        token = uuid.uuid4().hex  # another doctor's probe on the same channel is not ours
        received = asyncio.Event()

        def on_payload(payload: str) -> None:
            if payload == token:
                received.set()

        async with self._connection() as listening:
            await self._subscribe(listening, PROBE_CHANNEL, on_payload)
            async with self._connection() as sending:
                await PostgresDatabase(sending, url=self._url).notify(PROBE_CHANNEL, token)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(received.wait(), self._wait)
        return received.is_set()

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A connection of its own (not a pool: nothing outlives the check), closed after; StoreUnreachable when it
        cannot be made or fails."""
        try:
            conn = await asyncpg.connect(dsn=self._url, timeout=CONNECT_TIMEOUT_SECONDS)
        except _CONNECTION_ERRORS as exc:
            raise StoreUnreachable(texts.POSTGRES_FIX.format(reason=unavailable(self._url, exc))) from None
        try:
            yield conn
        except _CONNECTION_ERRORS as exc:
            raise StoreUnreachable(texts.POSTGRES_FIX.format(reason=unavailable(self._url, exc))) from None
        finally:
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await conn.close(timeout=CONNECT_TIMEOUT_SECONDS)
