"""Lets several replicas of the bot share one database safely: each verification, (host, unit) and singleton job
is owned by one replica through a lease in the database, renewed by a heartbeat and taken over once it expires.

A lease is a row (name, owner, expires_at). Taking it is one conditional upsert, so of two replicas racing for an
expired lease exactly one wins; the owner renews all its leases every `lease_seconds / 3` seconds. Time is the wall
clock in epoch seconds, because replicas on different machines share no monotonic clock (keep them on NTP).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Protocol

import structlog

from bot.background import BackgroundTask
from bot.ports import Clock

log = structlog.get_logger(__name__)

VERIFICATION = "verification:"
UNIT = "unit:"
ENVIRONMENT = "environment:"
SINGLETON = "singleton:"


def replica_id() -> str:
    """A stable id for this process: host name, process id and a random part (a restarted pod may reuse a pid)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def is_dead_here(owner: str) -> bool:
    """Whether `owner` is a replica id of this machine whose process is gone (e.g. a bot killed and restarted on
    one host): its leases need not be waited out. Another machine's replica is dead only once its lease expires."""
    parts = owner.rsplit("-", 2)  # replica_id(): host name (may hold dashes), pid, random part
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit() or int(parts[1]) == os.getpid():
        return False
    try:
        os.kill(int(parts[1]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by someone else
    return False


def verification_lease(verification_id: str) -> str:
    return f"{VERIFICATION}{verification_id}"


def unit_lease(host: str, unit: str) -> str:
    return f"{UNIT}{host}:{unit}"


class LeaseStore(Protocol):
    """The part of bot/store/ leases use."""

    async def lease_acquire(
        self, *, name: str, owner: str, now: float, expires_at: float, note: str | None, take_from: str | None = None
    ) -> bool: ...

    async def lease_renew(self, *, owner: str, now: float, expires_at: float) -> set[str]: ...

    async def lease_release(self, *, name: str, owner: str) -> None: ...

    async def lease_release_owner(self, owner: str) -> None: ...

    async def live_leases(self, *, prefix: str, now: float) -> dict[str, tuple[str, str | None]]: ...

    async def lease_owner(self, name: str) -> tuple[str, float] | None: ...

    async def next_lease_expiry(self, *, prefix: str, not_owner: str, now: float) -> float | None: ...

    async def ping(self) -> bool: ...


class Leases:
    """This replica's leases: take, renew (heartbeat), release, and what other replicas hold."""

    def __init__(
        self,
        *,
        store: LeaseStore,
        clock: Clock,
        replica: str,
        lease_seconds: float,
        on_lost: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.store, self.clock, self.replica, self.lease_seconds = store, clock, replica, lease_seconds
        self._held: set[str] = set()
        #: Told the name of a lease another replica took while this one still thought it held it (a stalled replica).
        self.on_lost = on_lost
        self._task = BackgroundTask("lease heartbeat")

    @property
    def heartbeat(self) -> float:
        return self.lease_seconds / 3

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def held(self, prefix: str = "") -> list[str]:
        """Names of the leases this replica holds that start with `prefix`, sorted."""
        return sorted(n for n in self._held if n.startswith(prefix))

    def owned_verifications(self) -> list[str]:
        return [n.removeprefix(VERIFICATION) for n in self.held(VERIFICATION)]

    def singletons(self) -> list[str]:
        """The singleton work this replica holds the lease for (and so runs)."""
        return [n.removeprefix(SINGLETON) for n in self.held(SINGLETON)]

    async def database_ready(self) -> bool:
        return await self.store.ping()

    async def acquire(self, name: str, *, note: str | None = None, take_from: str | None = None) -> bool:
        """Take the lease (or renew it when this replica holds it); False while another replica holds it, unless
        that is `take_from` (a replica known to be dead)."""
        now = self._now()
        won = await self.store.lease_acquire(
            name=name, owner=self.replica, now=now, expires_at=now + self.lease_seconds, note=note, take_from=take_from
        )
        if won:
            self._held.add(name)
        else:
            self._held.discard(name)
        return won

    async def acquire_all(self, names: Iterable[str], *, note: str | None = None) -> str | None:
        """Take every lease or none: the first name another replica holds (those taken are released), else None."""
        taken: list[str] = []
        for name in names:
            if not await self.acquire(name, note=note):
                await self.release_all(taken)
                return name
            taken.append(name)
        return None

    async def holder(self, name: str) -> str | None:
        """Who holds, or last held, the lease `name` (expired or not)."""
        held = await self.store.lease_owner(name)
        return held[0] if held else None

    async def release(self, name: str) -> None:
        self._held.discard(name)
        await self.store.lease_release(name=name, owner=self.replica)

    async def release_all(self, names: Iterable[str]) -> None:
        for name in names:
            await self.release(name)

    async def others(self, prefix: str) -> dict[str, tuple[str, str | None]]:
        """Unexpired leases other replicas hold whose name starts with `prefix`: name -> (owner, note)."""
        live = await self.store.live_leases(prefix=prefix, now=self._now())
        return {name: held for name, held in live.items() if held[0] != self.replica}

    async def seconds_to_next_expiry(self, prefix: str) -> float | None:
        """Seconds until the first unexpired lease named `prefix...` another replica holds expires (None: none)."""
        now = self._now()
        expiry = await self.store.next_lease_expiry(prefix=prefix, not_owner=self.replica, now=now)
        return None if expiry is None else expiry - now

    async def forget_dead_here(self) -> list[str]:
        """Drop the leases of replicas of this machine whose process is gone; their ids."""
        owners = {owner for owner, _ in (await self.others("")).values()}
        dead = sorted(o for o in owners if is_dead_here(o))
        for owner in dead:
            await self.store.lease_release_owner(owner)
        return dead

    async def renew(self) -> None:
        """One heartbeat: extend every lease held; a lease another replica took meanwhile is lost."""
        now = self._now()
        # Only leases held before the renewal was read can be lost: one taken while it ran is not in `still` yet.
        before = set(self._held)
        still = await self.store.lease_renew(owner=self.replica, now=now, expires_at=now + self.lease_seconds)
        lost = before - still
        self._held -= lost
        for name in sorted(lost):
            log.warning("lease lost", lease=name, replica=self.replica)
            if self.on_lost is not None:
                await self.on_lost(name)

    async def run(self) -> None:
        """Renew every `lease_seconds / 3` seconds until cancelled (a failing database is retried next beat)."""
        while True:
            try:
                await self.renew()
            except Exception as exc:
                log.warning("lease heartbeat failed", error=str(exc))
            await self.clock.sleep(self.heartbeat)

    def start(self) -> None:
        self._task.start(self.run)

    async def stop(self) -> None:
        """Stop the heartbeat and give back every lease, so another replica need not wait for them to expire."""
        await self._task.stop()
        try:
            await self.release_all(list(self._held))
        except Exception as exc:
            log.warning("leases not released", error=str(exc))


class Singleton:
    """Work that runs on exactly one replica at a time (`singleton:<name>`): whichever replica holds the lease runs
    it; the others try again every heartbeat and start it once the holder's lease has expired."""

    def __init__(self, *, leases: Leases, name: str, work: Callable[[], Coroutine[object, object, None]]) -> None:
        self._leases = leases
        self._name = f"{SINGLETON}{name}"
        self._work = work
        self._task = BackgroundTask(f"{self._name} lease")
        self._runner = BackgroundTask(self._name)

    @property
    def active(self) -> bool:
        """Whether this replica runs the work now."""
        return self._runner.running

    async def step(self) -> None:
        """Take or renew the lease; start the work when it was won, stop it when it was lost."""
        try:
            mine = await self._leases.acquire(self._name)
        except Exception as exc:
            log.warning("singleton lease not checked", singleton=self._name, error=str(exc))
            mine = False
        if mine and not self.active:
            log.info("singleton started", singleton=self._name, replica=self._leases.replica)
            self._runner.start(self._work)
        elif not mine and self.active:
            log.info("singleton handed over", singleton=self._name, replica=self._leases.replica)
            await self._runner.stop()

    async def run(self) -> None:
        while True:
            await self.step()
            await self._leases.clock.sleep(self._leases.heartbeat)

    def start(self) -> None:
        self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()
        await self._runner.stop()
        try:
            await self._leases.release(self._name)
        except Exception as exc:
            log.warning("singleton lease not released", singleton=self._name, error=str(exc))
