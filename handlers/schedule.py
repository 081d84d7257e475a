"""Scheduled verifications (issue 15 §1): each environment with a `schedule` verifies its branch's head whenever its
cron expression is due, through the one start policy, and reports to the environment's tracking issue.

The next due time is kept in the store, so a restart neither forgets nor repeats one; each due time is claimed in
the store before anything starts (one INSERT: the first scheduler wins, also across replicas). A due time that finds
the environment busy is skipped with a recorded reason; one missed while the App was down runs at start-up if it is
less than one period late, older ones are recorded as missed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import structlog
from prometheus_client import CollectorRegistry, Counter

from bot.cron import Cron
from bot.github.models import branch_ref
from bot.model import iso
from bot.ports import Clock, GitHubError
from bot.settings import EnvironmentSettings
from bot.settings_model import ScheduleSettings
from bot.texts import schedule as texts
from handlers.context import HandlerContext
from handlers.policy import ScheduledTarget, start_verification
from handlers.tracking_issue import tracking_issue

log = structlog.get_logger("handlers.schedule")

#: Missed due times recorded one by one at start-up at most (a minutely schedule down for a week missed 10,080);
#: the rest are counted and logged.
MISSED_RECORDED = 20


class SkipReason(StrEnum):
    """Why a due time started nothing (the `reason` of the store's record and of the skips metric)."""

    RUNNING = "running"  # a verification holds the environment
    UNDO_PENDING = "undo-pending"  # a fault injected earlier is not restored yet
    MISSED = "missed"  # the App was down at the due time, and a later one came before it was back
    NOT_STARTED = "not-started"  # GitHub could not tell the commit, or the policy or engine refused


class ScheduleSkips:
    """`verify_staging_schedule_skips_total{environment,reason}`."""

    def __init__(self, registry: CollectorRegistry, *, environments: list[str]) -> None:
        self.counter = Counter(
            "verify_staging_schedule_skips",
            "Scheduled verification due times that started nothing, by environment and reason.",
            ["environment", "reason"],
            registry=registry,
        )
        for environment in environments:
            for reason in SkipReason:
                self.counter.labels(environment=environment, reason=reason.value)


@dataclass
class _Plan:
    environment: EnvironmentSettings
    schedule: ScheduleSettings
    cron: Cron
    next_due: datetime | None = None

    @property
    def name(self) -> str:
        return self.environment.name


@dataclass
class _Collected:
    """The policy's Reply for a schedule: no person to answer, so what it would say is kept and logged."""

    said: list[str] = field(default_factory=list)

    async def acknowledge(self) -> None:
        return None

    async def say(self, text: str) -> None:
        self.said.append(text)


class Scheduler:
    """Runs every configured schedule until cancelled (`run`); `catch_up` and `tick` are its two halves."""

    def __init__(
        self,
        ctx: HandlerContext,
        *,
        clock: Clock,
        installation_for: Callable[[str], Awaitable[int]],
        skips: ScheduleSkips,
    ) -> None:
        self._ctx = ctx
        self._clock = clock
        self._installation_for = installation_for
        self._skips = skips
        self._plans = [
            _Plan(environment=env, schedule=env.schedule, cron=Cron.parse(env.schedule.cron))
            for env in ctx.settings.environments.values()
            if env.schedule is not None
        ]

    @property
    def active(self) -> bool:
        return bool(self._plans)

    async def run(self) -> None:
        """Catch up on what the App missed while it was down, then start each verification when it is due."""
        if not self._plans:
            return
        await self.catch_up()
        while True:
            soonest = min(p.next_due for p in self._plans if p.next_due is not None)
            wait = (soonest - self._clock.now()).total_seconds()
            if wait > 0:
                # Re-checked after waking: a sleep measured on the monotonic clock may end before the wall clock's due.
                await self._clock.sleep(wait)
                continue
            await self.tick()

    async def catch_up(self) -> None:
        """At start-up: each environment's stored due time, run once if it passed less than one period ago."""
        for plan in self._plans:
            await self._catch_up(plan)
            log.info("schedule ready", environment=plan.name, next_due=iso(plan.next_due))

    async def _catch_up(self, plan: _Plan) -> None:
        now = self._clock.now()
        stored = await self._ctx.store.schedule_next_due(plan.name)
        if stored is None or stored > now:
            plan.next_due = stored or plan.cron.next_after(now)
            await self._ctx.store.set_schedule_next_due(plan.name, plan.next_due)
            return
        # The last due time before now is less than one period late (the one after it has not come): it runs
        # now, once. Every earlier one is more than a period late: missed.
        latest = plan.cron.latest_at_or_before(now)
        await self._record_missed(plan, first=stored, latest=latest)
        log.info("scheduled verification runs late", environment=plan.name, due=iso(latest))
        await self._due(plan, latest)
        plan.next_due = plan.cron.next_after(latest)
        await self._ctx.store.set_schedule_next_due(plan.name, plan.next_due)

    async def tick(self) -> None:
        """Start (or skip) every due time that has come, in order."""
        now = self._clock.now()
        for plan in self._plans:
            while plan.next_due is not None and plan.next_due <= now:
                due = plan.next_due
                plan.next_due = plan.cron.next_after(due)
                await self._due(plan, due)

    # ------------------------------------------------------------------------------------------- one due time
    async def _due(self, plan: _Plan, due: datetime) -> None:
        store = self._ctx.store
        # Claimed before anything else: a scheduler that crashes after this never starts it twice.
        if not await store.claim_schedule_due(plan.name, due):
            log.info("scheduled due time already claimed", environment=plan.name, due=iso(due))
            await store.set_schedule_next_due(plan.name, plan.cron.next_after(due))
            return
        await store.set_schedule_next_due(plan.name, plan.cron.next_after(due))
        reason = await self._busy(plan)
        if reason is not None:
            await self._skip(plan, due, reason)
            return
        vid = self._ctx.new_id()
        try:
            said = await self._start(plan, verification_id=vid)
        except (GitHubError, OSError) as exc:
            await self._skip(plan, due, SkipReason.NOT_STARTED, detail=str(exc))
            return
        if said:
            await self._skip(plan, due, SkipReason.NOT_STARTED, detail=said[-1])
            return
        await store.record_schedule_outcome(plan.name, due, outcome="started", reason=None, verification_id=vid)
        log.info("scheduled verification started", environment=plan.name, due=iso(due), verification=vid)

    async def _busy(self, plan: _Plan) -> SkipReason | None:
        if self._ctx.engine.running(plan.name) is not None:
            return SkipReason.RUNNING
        env = plan.environment
        hosts = {r.host for r in env.runners} | {env.backend.host}
        if any(entry.host in hosts for entry in await self._ctx.store.journal_pending()):
            return SkipReason.UNDO_PENDING
        return None

    async def _start(self, plan: _Plan, *, verification_id: str) -> list[str]:
        """Start the verification of the branch's head; what the policy said instead, when it did not start."""
        repository = plan.schedule.repository
        installation_id = await self._installation_for(repository)
        repo = self._ctx.github.repo(installation_id=installation_id, repository=repository)
        branch = plan.schedule.ref or await repo.default_branch()
        head_sha = await repo.branch_head(branch)
        try:
            issue: int | None = await tracking_issue(repo, environment=plan.name, cron=plan.schedule.cron)
        except GitHubError as exc:  # the verification is worth more than its comment: it runs, reported elsewhere
            log.warning("tracking issue unavailable", environment=plan.name, error=str(exc))
            issue = None
        reply = _Collected()
        await start_verification(
            dataclasses.replace(self._ctx, new_id=lambda: verification_id),
            requested_by=texts.REQUESTED_BY,
            repository=repository,
            installation_id=installation_id,
            reply=reply,
            scenarios=plan.schedule.scenarios,
            scheduled=ScheduledTarget(ref=branch_ref(branch), head_sha=head_sha, tracking_issue=issue),
        )
        return reply.said

    async def _skip(self, plan: _Plan, due: datetime, reason: SkipReason, *, detail: str | None = None) -> None:
        await self._ctx.store.record_schedule_outcome(
            plan.name, due, outcome="skipped", reason=reason.value, verification_id=None
        )
        self._skips.counter.labels(environment=plan.name, reason=reason.value).inc()
        log.warning("scheduled verification skipped", environment=plan.name, due=iso(due), reason=reason.value,
                    detail=detail)  # fmt: skip

    async def _skip_unclaimed(self, plan: _Plan, due: datetime, reason: SkipReason) -> bool:
        """Claim `due` as skipped in one step; False when it was claimed before (then nothing is counted)."""
        if not await self._ctx.store.claim_schedule_due(plan.name, due, outcome="skipped", reason=reason.value):
            return False
        self._skips.counter.labels(environment=plan.name, reason=reason.value).inc()
        return True

    async def _record_missed(self, plan: _Plan, *, first: datetime, latest: datetime) -> None:
        """Record the due times from `first` up to (not including) `latest` as missed, the first few one by one."""
        due, recorded, missed = first, 0, 0
        while due < latest:
            if recorded < MISSED_RECORDED:
                recorded += await self._skip_unclaimed(plan, due, SkipReason.MISSED)
            else:
                missed += 1
                self._skips.counter.labels(environment=plan.name, reason=SkipReason.MISSED.value).inc()
            if missed > 100_000:  # bounded: a schedule of every minute down for over two months
                break
            due = plan.cron.next_after(due)
        if recorded or missed:
            log.warning("scheduled verifications missed while down", environment=plan.name, first=iso(first),
                        recorded=recorded, more=missed)  # fmt: skip
