"""Which replica runs a verification, and which may stop a unit: database leases, so two replicas of the bot can
never run two verifications in one environment nor stop the same unit on a host (issue 16 §2)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.leases import ENVIRONMENT, UNIT, VERIFICATION, Leases, unit_lease, verification_lease
from bot.texts import safety as safety_texts


class Refused(RuntimeError):
    """Another replica holds the environment or a unit; the message says which."""


def _names(*, verification_id: str, environment: str, units: Iterable[tuple[str, str]]) -> list[str]:
    return [
        f"{ENVIRONMENT}{environment}",
        *sorted(unit_lease(host, unit) for host, unit in units),
        verification_lease(verification_id),
    ]


class Ownership:
    """Takes and gives back a verification's leases (`leases` None: a single process, nothing to share)."""

    def __init__(self, leases: Leases | None) -> None:
        self.leases = leases

    async def claim(
        self,
        *,
        verification_id: str,
        environment: str,
        units: set[tuple[str, str]],
        overlap: Callable[[str, str], bool],
    ) -> None:
        """Take the environment's, each unit's and the verification's lease, or none and raise Refused."""
        if self.leases is None:
            return
        note = f"{verification_id} {environment}"
        names = _names(verification_id=verification_id, environment=environment, units=units)
        blocker = await self.leases.acquire_all(names, note=note)
        if blocker is None:
            # Exact names cannot see patterns: a unit glob another replica holds may name one of ours. Checked after
            # taking ours, so of two replicas racing with overlapping patterns at least one sees the other.
            blocker = await self._overlapping(units, overlap)
            if blocker is not None:
                await self.leases.release_all(names)
        if blocker is not None:
            raise Refused(await self._why(blocker, environment=environment))

    async def _overlapping(self, units: set[tuple[str, str]], overlap: Callable[[str, str], bool]) -> str | None:
        assert self.leases is not None
        for name in await self.leases.others(UNIT):
            host, _, unit = name.removeprefix(UNIT).partition(":")
            if any(host == h and overlap(unit, u) for h, u in units):
                return name
        return None

    async def _why(self, blocker: str, *, environment: str) -> str:
        assert self.leases is not None
        held = await self.leases.others(blocker)
        note = held.get(blocker, ("", None))[1] or "unknown"
        other, _, other_environment = note.partition(" ")
        if blocker.startswith(ENVIRONMENT):
            return safety_texts.ENVIRONMENT_BUSY_ELSEWHERE.format(other=other, environment=environment)
        host, _, unit = blocker.removeprefix(UNIT).partition(":")
        return safety_texts.UNIT_BUSY_REFUSED.format(
            other=other, environment=other_environment or "?", unit=unit, host=host
        )

    async def release(self, *, verification_id: str, environment: str, units: set[tuple[str, str]]) -> None:
        if self.leases is None:
            return
        await self.leases.release_all(_names(verification_id=verification_id, environment=environment, units=units))

    async def owned_elsewhere(self) -> set[str]:
        """Verifications another replica holds an unexpired lease on (their undo journal is that replica's)."""
        if self.leases is None:
            return set()
        return {name.removeprefix(VERIFICATION) for name in await self.leases.others(VERIFICATION)}
