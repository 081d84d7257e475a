"""No webhook lost while the App is down: at start-up and every `github.redelivery_interval`, the App's webhook
delivery log is read back to the newest delivery an earlier sweep saw (at most GitHub's 7 days), and each failed
delivery whose GUID the bot never accepted is redelivered, a bounded number a sweep.

GitHub does not redeliver failed deliveries by itself ("Handling failed webhook deliveries"); a redelivery keeps
its `X-GitHub-Delivery` GUID, so the ingress's dedupe on that GUID (bot/web.py, the store's deliveries table) is
what keeps a redelivered delivery from being processed twice, even when GitHub delivers it after all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter

from bot.github.hook_deliveries import HookDelivery
from bot.ports import Clock, GitHubError

log = structlog.get_logger("bot.redelivery")

#: How far back GitHub keeps an App's webhook deliveries (github.com redelivers only the last 3 days; a refused
#: redelivery is given up, not retried).
WINDOW = timedelta(days=7)
#: Redeliveries requested in one sweep at most; the rest wait for the next sweep.
MAX_PER_SWEEP = 100
#: Entries of the delivery log read in one sweep at most (50 pages of 100).
MAX_LISTED = 5_000
#: Redeliveries of one GUID this process requests at most: one the App keeps refusing is not asked for forever.
MAX_ATTEMPTS = 3
#: GUIDs whose redeliveries are counted; the oldest are forgotten beyond it (long past GitHub's window by then).
MAX_TRACKED = 10_000


class HookLog(Protocol):
    """The App webhook's delivery log (bot/github/hook_deliveries.py)."""

    def newest_first(self) -> AsyncIterator[HookDelivery]: ...

    async def redeliver(self, delivery_id: int) -> None: ...


class AcceptedDeliveries(Protocol):
    """The store's record of the deliveries the bot accepted, and of those it gave back unprocessed at a shutdown."""

    async def known_deliveries(self, delivery_ids: Collection[str]) -> set[str]: ...

    async def released_deliveries(self, delivery_ids: Collection[str]) -> set[str]: ...


@dataclass(frozen=True)
class SweepPlan:
    """What one sweep decided, from the listing alone: the deliveries to redeliver and why the others are not."""

    redeliver: tuple[HookDelivery, ...]
    failed: int  # GUIDs whose every listed attempt failed
    already_accepted: int  # ... that the bot nevertheless holds (it acknowledged one, then GitHub timed out)
    already_succeeded: int  # GUIDs that failed once, then a later attempt succeeded
    released: int  # GUIDs the bot acknowledged, then gave back unprocessed when it stopped
    given_up: int
    left_for_next_sweep: int
    #: The newest delivery id this sweep saw in full; the next sweep reads back to it and no further.
    watermark: int | None


class RedeliveryOutcome(StrEnum):
    """What GitHub answered a redelivery request (the `outcome` label of the redeliveries counter)."""

    REQUESTED = "requested"
    #: A 4xx: GitHub will not redeliver it (too old, unknown); given up.
    REFUSED = "refused"
    #: No answer or a 5xx after retries; the next sweep asks again.
    FAILED = "failed"


def beyond_horizon(delivery: HookDelivery, *, seen_up_to: int | None, since: datetime) -> bool:
    """Whether a listed delivery is older than what this sweep must look at (listed newest first, so everything after
    it is too)."""
    if seen_up_to is not None and delivery.id <= seen_up_to:
        return True
    return delivery.delivered_at is not None and delivery.delivered_at < since


def plan_redeliveries(
    listed: Sequence[HookDelivery],
    *,
    accepted: Set[str],
    released: Set[str] = frozenset(),
    seen_up_to: int | None,
    since: datetime,
    limit: int = MAX_PER_SWEEP,
    tried: Mapping[str, int] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> SweepPlan:
    """Which deliveries to redeliver: per GUID the bot has not accepted, its newest attempt when no listed attempt
    succeeded or when the bot gave it back unprocessed at a shutdown (GitHub saw it acknowledged); oldest first (so a
    job's webhooks arrive in their order), at most `limit`."""
    tried = tried or {}
    attempts: dict[str, list[HookDelivery]] = {}
    for delivery in listed:
        if not beyond_horizon(delivery, seen_up_to=seen_up_to, since=since):
            attempts.setdefault(delivery.guid, []).append(delivery)
    succeeded = failed = held = given_up = given_back = 0
    candidates: list[HookDelivery] = []
    for guid, of_guid in attempts.items():
        if guid in released and guid not in accepted:
            given_back += 1
        elif any(a.succeeded for a in of_guid):
            succeeded += any(not a.succeeded for a in of_guid)
            continue
        else:
            failed += 1
        if guid in accepted:
            held += 1
        elif tried.get(guid, 0) >= max_attempts:
            given_up += 1
        else:
            candidates.append(max(of_guid, key=lambda a: a.id))
    candidates.sort(key=lambda a: a.id)
    chosen, left = candidates[:limit], candidates[limit:]
    newest = max((d.id for d in listed), default=None)
    return SweepPlan(
        redeliver=tuple(chosen),
        failed=failed,
        already_accepted=held,
        # With some left over, the next sweep must read back as far again to find them.
        watermark=seen_up_to if left else max(filter(None, (newest, seen_up_to)), default=None),
        already_succeeded=succeeded,
        released=given_back,
        given_up=given_up,
        left_for_next_sweep=len(left),
    )


class RedeliveryMetrics:
    """`verify_staging_redeliveries_total{outcome}` and `verify_staging_redelivery_sweeps_total{outcome}`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.redeliveries = Counter(
            "verify_staging_redeliveries",
            "Redeliveries of failed webhook deliveries the bot asked GitHub for, by GitHub's answer.",
            ["outcome"],
            registry=registry,
        )
        self.sweeps = Counter(
            "verify_staging_redelivery_sweeps",
            "Sweeps of the App's webhook delivery log, by outcome (ok, error: GitHub could not be read).",
            ["outcome"],
            registry=registry,
        )
        for outcome in RedeliveryOutcome:
            self.redeliveries.labels(outcome=outcome.value)
        for result in ("ok", "error"):
            self.sweeps.labels(outcome=result)


@dataclass
class RedeliverySweep:
    """Reads the delivery log and asks for the redeliveries `plan_redeliveries` chose; `run()` repeats it."""

    hooks: HookLog
    store: AcceptedDeliveries
    metrics: RedeliveryMetrics
    clock: Clock
    interval: float
    limit: int = MAX_PER_SWEEP
    seen_up_to: int | None = None
    tried: dict[str, int] = field(default_factory=dict)

    async def sweep(self) -> SweepPlan:
        since = self.clock.now() - WINDOW
        listed: list[HookDelivery] = []
        async for delivery in self.hooks.newest_first():
            if beyond_horizon(delivery, seen_up_to=self.seen_up_to, since=since) or len(listed) >= MAX_LISTED:
                break
            listed.append(delivery)
        guids = {d.guid for d in listed}
        accepted = await self.store.known_deliveries(guids) if guids else set()
        released = await self.store.released_deliveries(guids - accepted) if guids - accepted else set()
        plan = plan_redeliveries(
            listed,
            accepted=accepted,
            released=released,
            seen_up_to=self.seen_up_to,
            since=since,
            limit=self.limit,
            tried=self.tried,
        )
        outcomes = dict.fromkeys(RedeliveryOutcome, 0)
        for delivery in plan.redeliver:
            outcome = await self._redeliver(delivery)
            outcomes[outcome] += 1
            self.metrics.redeliveries.labels(outcome=outcome.value).inc()
        self.seen_up_to = plan.watermark
        self.metrics.sweeps.labels(outcome="ok").inc()
        log.info(
            "redelivery sweep",
            listed=len(listed),
            failed=plan.failed,
            redelivered=outcomes[RedeliveryOutcome.REQUESTED],
            refused=outcomes[RedeliveryOutcome.REFUSED],
            errors=outcomes[RedeliveryOutcome.FAILED],
            already_accepted=plan.already_accepted,
            already_succeeded=plan.already_succeeded,
            released=plan.released,
            given_up=plan.given_up,
            left_for_next_sweep=plan.left_for_next_sweep,
        )
        return plan

    async def _redeliver(self, delivery: HookDelivery) -> RedeliveryOutcome:
        self.tried[delivery.guid] = self.tried.get(delivery.guid, 0) + 1
        while len(self.tried) > MAX_TRACKED:
            del self.tried[next(iter(self.tried))]
        try:
            await self.hooks.redeliver(delivery.id)
        except GitHubError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                self.tried[delivery.guid] = MAX_ATTEMPTS
                log.warning("redelivery refused", delivery=delivery.guid, github_event=delivery.event, error=str(exc))
                return RedeliveryOutcome.REFUSED
            log.warning("redelivery failed", delivery=delivery.guid, github_event=delivery.event, error=str(exc))
            return RedeliveryOutcome.FAILED
        return RedeliveryOutcome.REQUESTED

    async def run(self) -> None:
        """Sweep now and then every `interval` seconds until cancelled."""
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # GitHub unreachable or refusing: the next sweep tries again
                self.metrics.sweeps.labels(outcome="error").inc()
                log.warning("redelivery sweep failed", error=str(exc))
            await self.clock.sleep(self.interval)
