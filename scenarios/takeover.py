"""When a replica dies in the middle of a verification, another one takes it over once the dead one's lease has
expired: it carries out the undo journal (what the dead replica stopped is started again, confirmed with
`systemctl is-active`), concludes the verification `cancelled` saying why, and tells the reporters (issue 16 §2)."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from bot.background import BackgroundTask
from bot.leases import VERIFICATION, Leases, is_dead_here, verification_lease
from bot.model import Verification
from bot.ports import Clock, Reporter, SSHPort
from bot.settings import Settings
from bot.texts.safety import OWNER_STOPPED_REASON
from scenarios.recovery import INTERRUPTED_REASON, RecoveryStore, recover

log = structlog.get_logger(__name__)

#: How long after a lease's expiry a pass looks (expired means strictly past it; clocks tick in steps).
EXPIRY_MARGIN = 0.05


class Takeover:
    """Recovers the verifications whose owner's lease expired, at start-up and then every heartbeat."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: RecoveryStore,
        ssh: SSHPort,
        reporter: Reporter,
        clock: Clock,
        leases: Leases,
        owns: Callable[[str], bool],
    ) -> None:
        self._settings, self._store, self._ssh = settings, store, ssh
        self._reporter, self._clock, self._leases = reporter, clock, leases
        self._owns = owns
        self._task = BackgroundTask("takeover")

    async def once(self, *, at_start: bool = False) -> list[Verification]:
        """One pass; the verifications concluded. At start-up a verification nobody holds a lease on was left by
        a previous process of a single bot (the old reason); later, a replica that stopped left it."""
        previous: dict[str, str | None] = {}
        claimed: list[str] = []
        died_here: set[str] = set()  # left by a process of this machine that is gone: a restart, not a takeover

        async def claim(verification_id: str) -> bool:
            if self._owns(verification_id):
                return False
            name = verification_lease(verification_id)
            held = await self._leases.holder(name)
            dead = held if held is not None and is_dead_here(held) else None
            if not await self._leases.acquire(name, note=f"{verification_id} takeover", take_from=dead):
                return False
            previous[verification_id] = held if held != self._leases.replica else None
            if dead is not None:
                died_here.add(verification_id)
            claimed.append(verification_id)
            return True

        def reason(verification_id: str) -> str:
            owner = previous.get(verification_id)
            if at_start and (owner is None or verification_id in died_here):
                return INTERRUPTED_REASON
            return OWNER_STOPPED_REASON.format(owner=owner or "unknown", replica=self._leases.replica)

        try:
            concluded = await recover(
                settings=self._settings, store=self._store, ssh=self._ssh, reporter=self._reporter, clock=self._clock,
                claim=claim, reason=reason,
            )  # fmt: skip
        finally:
            await self._leases.release_all(verification_lease(vid) for vid in claimed)
        # Its units, environments and singleton work are free too (its verifications are concluded now).
        await self._leases.forget_dead_here()
        for v in concluded:
            log.warning(
                "verification taken over", verification=v.verification_id, previous=previous.get(v.verification_id)
            )
        return concluded

    async def next_wait(self) -> float:
        """Seconds to the next pass: a heartbeat, or less when another replica's verification lease expires sooner
        (its owner stopped renewing it), so what a dead owner stopped is restored as soon as the lease allows and not
        up to a heartbeat later. A live owner renews every heartbeat: its lease is always further off than that."""
        wait = self._leases.heartbeat
        try:
            expires_in = await self._leases.seconds_to_next_expiry(VERIFICATION)
        except Exception as exc:
            log.warning("lease expiry not read", error=str(exc))
            return wait
        if expires_in is not None:
            # Taken only once strictly past its expiry (bot/store/replicas.py), hence the margin.
            wait = min(wait, max(expires_in, 0.0) + EXPIRY_MARGIN)
        return wait

    async def run(self) -> None:
        while True:
            await self._clock.sleep(await self.next_wait())
            try:
                await self.once()
            except Exception:
                log.exception("takeover pass failed")

    def start(self) -> None:
        self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()
