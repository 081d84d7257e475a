"""Leases in the database (issue 16 §2): taken, renewed by the heartbeat, taken over once expired, never held by
two replicas at once; singleton work runs on the one replica holding its lease."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import cast

import pytest

from bot.leases import Leases, LeaseStore, Singleton, is_dead_here, replica_id
from bot.store import Store
from tests.fakes.clock import FakeClock

LEASE = 30.0


@pytest.fixture
async def stores(store_location: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two replicas' stores on one database, once per backend: one SQLite file (replicas on one machine), then one
    PostgreSQL database (each its own connection pool)."""
    first = await Store.open(store_location)
    second = await Store.open(store_location)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def two(stores: tuple[Store, Store], clock: FakeClock) -> tuple[Leases, Leases]:
    return (
        Leases(store=stores[0], clock=clock, replica="replica-a", lease_seconds=LEASE),
        Leases(store=stores[1], clock=clock, replica="replica-b", lease_seconds=LEASE),
    )


async def test_a_held_lease_is_refused_to_another_replica_until_it_expires(stores: tuple[Store, Store]) -> None:
    clock = FakeClock()
    a, b = two(stores, clock)
    assert await a.acquire("verification:v-1")
    assert not await b.acquire("verification:v-1")
    clock.advance(LEASE - 1)
    assert not await b.acquire("verification:v-1")
    clock.advance(2)  # a sent no heartbeat: its lease is over
    assert await b.acquire("verification:v-1")
    assert await a.holder("verification:v-1") == "replica-b"
    assert not await a.acquire("verification:v-1")
    assert a.held() == [] and b.held() == ["verification:v-1"]


async def test_the_heartbeat_keeps_a_lease_past_its_first_expiry_and_reports_one_taken_meanwhile(
    stores: tuple[Store, Store],
) -> None:
    clock = FakeClock()
    lost: list[str] = []

    async def on_lost(name: str) -> None:
        lost.append(name)

    a, b = two(stores, clock)
    a.on_lost = on_lost
    assert await a.acquire("verification:v-1") and await a.acquire("unit:host:x.service")
    for _ in range(6):  # three lease lengths, a heartbeat every third of one
        clock.advance(a.heartbeat)
        await a.renew()
        assert not await b.acquire("verification:v-1")
    clock.advance(LEASE + 1)  # a stalls past its lease; b takes one of its leases
    assert await b.acquire("unit:host:x.service")
    await a.renew()
    assert lost == ["unit:host:x.service"]
    assert a.held() == ["verification:v-1"]


async def test_two_replicas_racing_for_an_expired_lease_never_both_win(stores: tuple[Store, Store]) -> None:
    clock = FakeClock()
    a, b = two(stores, clock)
    for round_ in range(20):
        name = f"verification:v-{round_}"
        won = await asyncio.gather(a.acquire(name), b.acquire(name))
        assert sorted(won) == [False, True], (round_, won)
        clock.advance(LEASE + 1)
        won = await asyncio.gather(b.acquire(name), a.acquire(name))
        assert sorted(won) == [False, True], (round_, won)


async def test_stop_gives_every_lease_back_at_once(stores: tuple[Store, Store]) -> None:
    clock = FakeClock()
    a, b = two(stores, clock)
    assert await a.acquire_all(["environment:staging", "verification:v-1"]) is None
    assert await b.acquire_all(["unit:h:u", "environment:staging"]) == "environment:staging"
    assert b.held() == []  # all or nothing: the unit b had taken first is given back
    await a.stop()
    assert await b.acquire("environment:staging")


async def test_singleton_work_runs_on_one_replica_and_moves_when_its_holder_stops(stores: tuple[Store, Store]) -> None:
    clock = FakeClock()
    a, b = two(stores, clock)
    running: list[str] = []

    def work(name: str) -> Singleton:
        async def loop() -> None:
            running.append(name)
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(name)

        leases = a if name == "a" else b
        return Singleton(leases=leases, name="redelivery-sweep", work=loop)

    first, second = work("a"), work("b")
    await first.step()
    await second.step()
    await asyncio.sleep(0)
    assert running == ["a"] and first.active and not second.active
    clock.advance(LEASE + 1)  # a's lease is renewed by its step, not by time: expired, b takes over
    await second.step()
    await first.step()
    await asyncio.sleep(0)
    assert running == ["b"] and second.active and not first.active
    await second.stop()
    await first.step()
    await asyncio.sleep(0)
    assert running == ["a"]
    await first.stop()
    assert running == []


class PausedRenewal:
    """The store, except that a renewal stops after reading which leases are held, until `go` is set."""

    def __init__(self, store: Store) -> None:
        self.store, self.read, self.go = store, asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    async def lease_renew(self, *, owner: str, now: float, expires_at: float) -> set[str]:
        held = await self.store.lease_renew(owner=owner, now=now, expires_at=expires_at)
        self.read.set()
        await self.go.wait()
        return held


async def test_a_lease_taken_while_a_heartbeat_runs_is_not_reported_lost(stores: tuple[Store, Store]) -> None:
    paused = PausedRenewal(stores[0])
    a = Leases(store=cast(LeaseStore, paused), clock=FakeClock(), replica="replica-a", lease_seconds=LEASE)
    lost: list[str] = []

    async def on_lost(name: str) -> None:
        lost.append(name)

    a.on_lost = on_lost
    renewal = asyncio.create_task(a.renew())
    await paused.read.wait()
    assert await a.acquire("verification:v-1")  # taken after the heartbeat read what this replica holds
    paused.go.set()
    await renewal
    assert lost == [] and a.held() == ["verification:v-1"]


def test_only_a_gone_process_of_this_host_counts_as_dead_before_its_lease_expires() -> None:
    """A replica of this machine whose process is gone (a bot killed and restarted) is taken over at once; one of
    another host, a live process or an id of another shape only once its lease has expired."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process now (none reuses it this quickly)
    host = socket.gethostname()
    assert is_dead_here(f"{host}-{gone.pid}-a1b2c3")
    assert not is_dead_here(f"another-{host}-{gone.pid}-a1b2c3")  # another machine: its pids are not ours to ask
    assert not is_dead_here(f"{host}-{os.getpid()}-a1b2c3")  # this very process
    assert not is_dead_here(f"{host}-1-a1b2c3")  # a live process (init)
    assert not is_dead_here("replica-a")
    assert is_dead_here(replica_id().rsplit("-", 2)[0] + f"-{gone.pid}-ffffff")
