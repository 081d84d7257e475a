"""bot.store.Store for virtual-time tests: each call holds the fake clock, since SQLite works in a thread."""

from __future__ import annotations

from bot.model import Verification
from bot.store import JournalEntry, Store
from tests.fakes.clock import FakeClock


class ClockedStore:
    def __init__(self, store: Store, clock: FakeClock) -> None:
        self.inner, self._clock = store, clock

    async def save_verification(self, v: Verification) -> None:
        async with self._clock.hold():
            await self.inner.save_verification(v)

    async def load_verification(self, vid: str) -> Verification | None:
        async with self._clock.hold():
            return await self.inner.load_verification(vid)

    async def unfinished_verifications(self) -> list[Verification]:
        async with self._clock.hold():
            return await self.inner.unfinished_verifications()

    async def record_event(self, *, verification_id: str, kind: str, data: dict[str, object]) -> None:
        async with self._clock.hold():
            await self.inner.record_event(verification_id=verification_id, kind=kind, data=data)

    async def journal_add(self, *, verification_id: str, host: str, fault: str, undo: list[str]) -> int:
        async with self._clock.hold():
            return await self.inner.journal_add(verification_id=verification_id, host=host, fault=fault, undo=undo)

    async def journal_mark_injected(self, entry_id: int) -> None:
        async with self._clock.hold():
            await self.inner.journal_mark_injected(entry_id)

    async def journal_mark_restored(
        self, entry_id: int, *, ok: bool, error: str | None = None, after_restart: bool = False
    ) -> None:
        async with self._clock.hold():
            await self.inner.journal_mark_restored(entry_id, ok=ok, error=error, after_restart=after_restart)

    async def journal_pending(self) -> list[JournalEntry]:
        async with self._clock.hold():
            return await self.inner.journal_pending()

    async def passing_values(
        self, *, environment: str, scenario: str, measurement: str, limit: int, exclude: str
    ) -> list[float]:
        async with self._clock.hold():
            return await self.inner.passing_values(
                environment=environment, scenario=scenario, measurement=measurement, limit=limit, exclude=exclude
            )

    # ---- leases (issue 16): the same store shared by the replicas of a test
    async def lease_acquire(
        self, *, name: str, owner: str, now: float, expires_at: float, note: str | None, take_from: str | None = None
    ) -> bool:
        async with self._clock.hold():
            return await self.inner.lease_acquire(
                name=name, owner=owner, now=now, expires_at=expires_at, note=note, take_from=take_from
            )

    async def lease_renew(self, *, owner: str, now: float, expires_at: float) -> set[str]:
        async with self._clock.hold():
            return await self.inner.lease_renew(owner=owner, now=now, expires_at=expires_at)

    async def lease_release(self, *, name: str, owner: str) -> None:
        async with self._clock.hold():
            await self.inner.lease_release(name=name, owner=owner)

    async def live_leases(self, *, prefix: str, now: float) -> dict[str, tuple[str, str | None]]:
        async with self._clock.hold():
            return await self.inner.live_leases(prefix=prefix, now=now)

    async def lease_release_owner(self, owner: str) -> None:
        async with self._clock.hold():
            await self.inner.lease_release_owner(owner)

    async def lease_owner(self, name: str) -> tuple[str, float] | None:
        async with self._clock.hold():
            return await self.inner.lease_owner(name)

    async def next_lease_expiry(self, *, prefix: str, not_owner: str, now: float) -> float | None:
        async with self._clock.hold():
            return await self.inner.next_lease_expiry(prefix=prefix, not_owner=not_owner, now=now)

    async def ping(self) -> bool:
        async with self._clock.hold():
            return await self.inner.ping()
