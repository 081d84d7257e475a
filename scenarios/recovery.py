"""Start-up recovery: undo every fault a previous bot process left injected, then conclude the verifications it
left unfinished as `cancelled` and tell the reporters, before any new verification may start."""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from bot.model import (
    Restoration,
    ScenarioConclusion,
    ScenarioStatus,
    Verification,
    VerificationConclusion,
)
from bot.ports import Clock, Reporter, SSHPort
from bot.settings import Settings
from scenarios.journal import JournalEntry, JournalStore, run_undo

log = structlog.get_logger(__name__)

INTERRUPTED_REASON = (
    "The bot stopped while this verification ran (interrupted during {where}); "
    "on restart it started again everything it had stopped."
)


class RecoveryStore(JournalStore, Protocol):
    async def journal_pending(self) -> Sequence[JournalEntry]: ...

    async def unfinished_verifications(self) -> list[Verification]: ...

    async def load_verification(self, vid: str) -> Verification | None: ...

    async def save_verification(self, v: Verification) -> None: ...


async def _anyone(verification_id: str) -> bool:
    return True


async def recover(
    *,
    settings: Settings,
    store: RecoveryStore,
    ssh: SSHPort,
    reporter: Reporter,
    clock: Clock,
    claim: Callable[[str], Awaitable[bool]] = _anyone,
    reason: Callable[[str], str] | None = None,
) -> list[Verification]:
    """Carry out pending undos, conclude interrupted verifications; returns the verifications concluded.

    `claim(verification_id)`: whether this process may recover that verification (with replicas, only one whose
    owner's lease has expired, issue 16); `reason(verification_id)`: its reason, `{where}` the scenario interrupted.
    """
    claims: dict[str, bool] = {}

    async def claimed(vid: str) -> bool:
        if vid not in claims:
            claims[vid] = await claim(vid)
        return claims[vid]

    restored: dict[str, list[Restoration]] = {}
    for entry in await store.journal_pending():
        if not await claimed(entry.verification_id):
            continue
        undo = list(entry.undo)
        ok, error = await run_undo(ssh, clock, entry.host, undo, timeout=settings.ssh.command_timeout)
        await store.journal_mark_restored(entry.id, ok=ok, error=error, after_restart=True)
        log.info("undo after restart", host=entry.host, ok=ok, verification=entry.verification_id)
        restored.setdefault(entry.verification_id, []).append(
            Restoration(
                host=entry.host,
                fault=entry.fault,
                undo=shlex.join(undo),
                ok=ok,
                injected_at=entry.injected_at,
                restored_at=clock.now(),
                after_restart=True,
                error=error,
            )
        )
    unfinished = {
        v.verification_id: v for v in await store.unfinished_verifications() if await claimed(v.verification_id)
    }
    for vid in restored.keys() - unfinished.keys():
        # A verification that was concluded but whose undo never ran still gets the restoration recorded.
        loaded = await store.load_verification(vid)
        if loaded is not None:
            _merge(loaded, restored[vid])
            await store.save_verification(loaded)
    concluded = []
    for v in unfinished.values():
        _merge(v, restored.get(v.verification_id, []))
        conclude_interrupted(v, now=clock, reason=reason(v.verification_id) if reason else INTERRUPTED_REASON)
        await store.save_verification(v)
        try:
            await reporter.finished(v)
        except Exception:
            log.exception("reporter failed", verification=v.verification_id)
        concluded.append(v)
    return concluded


def _merge(v: Verification, restorations: list[Restoration]) -> None:
    """Replace the journal's unfinished restorations with what the restart did."""
    for r in restorations:
        match = next((x for x in v.restorations if x.host == r.host and x.undo == r.undo and not x.restored_at), None)
        if match is not None:
            r.injected_at = r.injected_at or match.injected_at
            v.restorations[v.restorations.index(match)] = r
        else:
            v.restorations.append(r)


def conclude_interrupted(v: Verification, *, now: Clock, reason: str = INTERRUPTED_REASON) -> None:
    running = next((s for s in v.scenarios if s.status is ScenarioStatus.IN_PROGRESS), None)
    where = running.id.value if running else "set-up"
    for s in v.scenarios:
        if s.conclusion is not None:
            continue
        if s is running:
            s.conclusion = ScenarioConclusion.ERROR
            s.reason = "The bot stopped before this scenario finished."
            s.completed_at = now.now()
        else:
            s.conclusion = ScenarioConclusion.SKIPPED
            s.reason = "Not run: the bot stopped before this scenario began."
        s.status = ScenarioStatus.COMPLETED
    v.conclusion = VerificationConclusion.CANCELLED
    v.reason = reason.format(where=where)
    v.completed_at = now.now()
