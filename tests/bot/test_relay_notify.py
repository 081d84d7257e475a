"""Issue 16 §2 on PostgreSQL: a workflow event relayed by one replica wakes the other's reader through LISTEN/NOTIFY,
long before its fallback poll would read it, and keeps doing so after the listening connection is killed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from structlog.testing import capture_logs

from bot.adapters.clock import SystemClock
from bot.database import listener as listener_module
from bot.database.listener import PostgresListener
from bot.leases import Leases
from bot.relay import EventRelay
from bot.settings import Settings
from bot.store import Store
from tests.bot.conftest import running_bot
from tests.fakes.engine import FakeEngine
from tests.support.payloads import load_fixture
from tests.support.ports import closed_port
from tests.support.postgres import fresh_database
from tests.support.wait import wait_until

#: Longer than any wait below: only a notification can bring an event within them.
FALLBACK_POLL = 30.0
DELIVERED_WITHIN = 5.0


@dataclass
class Replica:
    store: Store
    relay: EventRelay
    engine: FakeEngine

    async def listening(self, *, instead_of: int | None = None) -> int:
        """Wait until this replica's listener is connected (on another connection than `instead_of`); its pid."""

        def connected() -> bool:
            listener = self.relay.listener
            return listener is not None and listener.connection_id not in (None, instead_of)

        await wait_until(connected, timeout=15, what="the relay's listener connected")
        assert self.relay.listener is not None and self.relay.listener.connection_id is not None
        return self.relay.listener.connection_id

    async def publish_job(self, job_id: int) -> None:
        job = load_fixture("workflow_job/in_progress.payload.json")["workflow_job"]
        job["id"] = job_id
        await self.relay.publish(
            delivery_id=f"job-{job_id}", kind="workflow_job", repository="octo-org/app", installation_id=1001, data=job
        )


@contextlib.asynccontextmanager
async def replicas() -> AsyncIterator[tuple[Replica, Replica]]:
    """Two replicas' stores and relays on one fresh PostgreSQL database, polling only every FALLBACK_POLL s."""
    async with fresh_database() as url, contextlib.AsyncExitStack() as stack:
        pair = []
        for name in ("replica-a", "replica-b"):
            store = await Store.open(url)
            stack.push_async_callback(store.close)
            leases = Leases(store=store, clock=SystemClock(), replica=name, lease_seconds=30)
            engine = FakeEngine()
            relay = EventRelay(store=store, engine=engine, leases=leases, poll_seconds=FALLBACK_POLL)
            relay.start()
            stack.push_async_callback(relay.stop)
            pair.append(Replica(store, relay, engine))
        yield pair[0], pair[1]


async def test_an_event_relayed_on_postgresql_reaches_the_other_replica_before_its_poll_would() -> None:
    async with replicas() as (a, b):
        await b.listening()
        await a.listening()
        await a.publish_job(1)
        await wait_until(lambda: [j.id for j in b.engine.jobs] == [1], timeout=DELIVERED_WITHIN, what="job 1 on b")
        await b.publish_job(2)
        await wait_until(lambda: [j.id for j in a.engine.jobs] == [2], timeout=DELIVERED_WITHIN, what="job 2 on a")
        assert [j.id for j in b.engine.jobs] == [1]  # a replica is not fed its own events


async def test_the_listener_reconnects_after_its_connection_is_killed_and_later_events_still_wake_it() -> None:
    async with replicas() as (a, b):
        killed = await b.listening()
        with capture_logs() as logs:
            assert await a.store.database.fetchval("SELECT pg_terminate_backend(?)", (killed,)) is True
            await b.listening(instead_of=killed)
        lost = [e for e in logs if e["event"] == "listener lost its connection"]
        assert len(lost) == 1 and lost[0]["log_level"] == "warning"
        assert [e["event"] for e in logs if e["event"] == "listener reconnected"] == ["listener reconnected"]
        await a.publish_job(3)
        await wait_until(lambda: [j.id for j in b.engine.jobs] == [3], timeout=DELIVERED_WITHIN, what="job 3 on b")


async def test_only_postgresql_offers_a_listener(store: Store) -> None:
    listener = store.relay_listener(replica="replica-a")
    try:
        assert (listener is not None) == (store.database.dialect == "postgresql")
    finally:
        if listener is not None:
            await listener.close()


async def test_a_listener_that_cannot_connect_keeps_trying_logs_it_once_and_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(listener_module, "BACKOFF_SECONDS", 0.01)
    monkeypatch.setattr(listener_module, "BACKOFF_MAX_SECONDS", 0.05)
    attempts = 0
    connect = listener_module.asyncpg.connect

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal attempts
        attempts += 1
        return await connect(*args, **kwargs)

    monkeypatch.setattr(listener_module.asyncpg, "connect", counted)
    url = f"postgresql://bot:s3cret-password@127.0.0.1:{closed_port()}/verify_staging"
    with capture_logs() as logs:
        listener = PostgresListener(url, channel="verify_staging_relay")
        try:
            await wait_until(lambda: attempts >= 5, timeout=10, what="five connection attempts")
            assert listener.connection_id is None
        finally:
            await listener.close()
    refused = [e for e in logs if e["event"] == "listener not connected"]
    assert len(refused) == 1 and "s3cret-password" not in str(refused[0])
    assert "127.0.0.1" in refused[0]["error"]


async def test_serve_on_postgresql_listens_for_relayed_events_and_lets_go_when_it_stops(
    postgres_settings: Settings,
) -> None:
    async with running_bot(postgres_settings) as (runtime, engine, _session):
        assert runtime.relay is not None
        await Replica(runtime.store, runtime.relay, engine).listening()
        assert runtime.relay.listener is not None
        pid = runtime.relay.listener.connection_id
    conn = await asyncpg.connect(postgres_settings.store_location)
    try:
        deadline = time.monotonic() + 10
        while await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, "the listening connection outlived the bot"
            await asyncio.sleep(0.05)  # the server notices the closed socket on its own time
    finally:
        await conn.close()
