"""Brings workflow_run and workflow_job events that reached one replica to every other replica's engine, so the
replica that owns a verification hears about its runs whichever replica GitHub delivered them to.

The receiving replica writes the event to the database (`relayed_events`); each replica reads what the others wrote
and feeds it to its engine's correlation, which already ignores duplicates and stale states
(scenarios/correlation.py). On PostgreSQL the write notifies the other replicas (NOTIFY), whose readers wake at once
and poll every `NOTIFIED_POLL_SECONDS` besides, in case a notification was lost; on SQLite they poll every
`POLL_SECONDS` (benchmarks/relay.py measures both).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog
from gidgethub import sansio

from bot.background import BackgroundTask
from bot.database import Listener
from bot.envelope import Envelope
from bot.github.models import PayloadError, WorkflowJob, WorkflowRun
from bot.leases import ENVIRONMENT, VERIFICATION, Leases
from bot.ports import Engine
from bot.store import RelayedEvent

log = structlog.get_logger(__name__)

#: The issue asks that an event reach the owner within a second when polling.
POLL_SECONDS = 0.5
#: With notifications (PostgreSQL), polling only catches what a reconnecting listener missed (a reconnection wakes
#: the reader too): the issue's one-second bound, at half the queries of POLL_SECONDS.
NOTIFIED_POLL_SECONDS = 1.0
#: Relayed events older than KEEP_SECONDS are deleted this often.
PRUNE_SECONDS = 300.0
#: Rows are read again this far back: a replica may commit an event stamped a little before one already read
#: (clocks of replicas differ slightly; commits are not in stamp order). Duplicates are dropped by delivery id.
OVERLAP_SECONDS = 30.0
#: Relayed events are kept this long (scenarios/correlation.py buffers unclaimed events as long).
KEEP_SECONDS = 600.0

RELAYED_KINDS = frozenset({"workflow_run", "workflow_job"})
#: A `/verify-staging abort` (or a push that cancels) that reached a replica not running the verification.
ABORT = "abort"


class RelayStore(Protocol):
    async def relay_event(self, event: RelayedEvent) -> None: ...

    async def relayed_events(self, *, since: float, not_from: str) -> list[RelayedEvent]: ...

    async def prune_relayed_events(self, *, before: float) -> None: ...

    def relay_listener(self, *, replica: str) -> Listener | None: ...


class EventRelay:
    """Publishes this replica's workflow events and feeds the other replicas' to `engine`."""

    def __init__(
        self,
        *,
        store: RelayStore,
        engine: Engine,
        leases: Leases,
        wake: Callable[[float], Awaitable[None]] | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        """`leases`: this replica's (its id and clock); `wake(seconds)`: returns when new events may be there (by
        default the store's listener if it has one, else the clock's sleep); `poll_seconds`: the longest wait
        (default NOTIFIED_POLL_SECONDS with a listener, POLL_SECONDS without)."""
        self._store, self._engine, self._leases = store, engine, leases
        self._clock, self._replica = leases.clock, leases.replica
        #: Environment -> the verification another replica runs there, as of the last poll.
        self.running_elsewhere: dict[str, str] = {}
        self._wake = wake
        self._poll_seconds = poll_seconds
        #: What wakes this reader when another replica writes (PostgreSQL), while it runs; None on SQLite.
        self.listener: Listener | None = None
        self._since = self._clock.now().timestamp() - OVERLAP_SECONDS
        self._seen: dict[str, float] = {}
        self._task = BackgroundTask("event relay")
        self.delivered = 0

    async def publish(
        self, *, delivery_id: str, kind: str, repository: str, installation_id: int, data: object
    ) -> None:
        """Keep a workflow event this replica received (`data`: the payload's run or job object)."""
        await self._store.relay_event(
            RelayedEvent(
                delivery_id=delivery_id,
                replica=self._replica,
                repository=repository,
                installation_id=installation_id,
                kind=kind,
                data=json.dumps(data),
                received_at=self._clock.now().timestamp(),
            )
        )

    async def publish_abort(self, *, verification_id: str, by: str, reason: str | None) -> None:
        """Ask the replica that runs `verification_id` to abort it (a `/verify-staging abort` that reached this one)."""
        data = {"verification_id": verification_id, "by": by, "reason": reason}
        await self.publish(delivery_id=f"abort-{uuid.uuid4()}", kind=ABORT, repository="", installation_id=0, data=data)

    async def owned_elsewhere(self) -> set[str]:
        """Verifications another live replica runs."""
        return {name.removeprefix(VERIFICATION) for name in await self._leases.others(VERIFICATION)}

    async def poll_once(self) -> int:
        """Feed the engine what other replicas received since the last poll; how many events were new."""
        self.running_elsewhere = {
            name.removeprefix(ENVIRONMENT): (note or "").partition(" ")[0]
            for name, (_, note) in (await self._leases.others(ENVIRONMENT)).items()
        }
        events = await self._store.relayed_events(since=self._since - OVERLAP_SECONDS, not_from=self._replica)
        fresh = 0
        for event in events:
            if event.delivery_id in self._seen:
                continue
            self._seen[event.delivery_id] = event.received_at
            self._since = max(self._since, event.received_at)
            fresh += 1
            try:
                await self._feed(event)
            except (PayloadError, ValueError, KeyError) as exc:
                log.warning("relayed event unreadable", delivery=event.delivery_id, error=str(exc))
        horizon = self._since - 2 * OVERLAP_SECONDS
        self._seen = {d: at for d, at in self._seen.items() if at >= horizon}
        self.delivered += fresh
        return fresh

    async def _feed(self, event: RelayedEvent) -> None:
        raw = json.loads(event.data)
        if event.kind == ABORT:
            vid, by, reason = str(raw["verification_id"]), str(raw["by"]), raw.get("reason")
            if await self._engine.abort(vid, by=by, reason=None if reason is None else str(reason)):
                log.info("abort relayed", verification=vid, by=by, replica=event.replica)
        elif event.kind == "workflow_run":
            run = WorkflowRun.from_api(raw)
            self._engine.observe_run(installation_id=event.installation_id, repository=event.repository, run=run)
        elif event.kind == "workflow_job":
            job = WorkflowJob.from_api(raw)
            self._engine.observe_job(installation_id=event.installation_id, repository=event.repository, job=job)

    async def run(self) -> None:
        wake = self._wake or (self.listener.wait if self.listener is not None else self._clock.sleep)
        seconds = self._poll_seconds or (POLL_SECONDS if self.listener is None else NOTIFIED_POLL_SECONDS)
        pruned = self._clock.now().timestamp()
        while True:
            try:
                await self.poll_once()
                now = self._clock.now().timestamp()
                if now - pruned >= PRUNE_SECONDS:  # forget what no correlation still buffers
                    pruned = now
                    await self._store.prune_relayed_events(before=now - KEEP_SECONDS)
            except Exception as exc:
                log.warning("relayed events not read", error=str(exc))
            await wake(seconds)

    def start(self) -> None:
        """Read in the background; on PostgreSQL also listen (one connection of its own, until `stop`)."""
        if self._task.running:
            return
        if self._wake is None and self.listener is None:
            self.listener = self._store.relay_listener(replica=self._replica)
        self._task.start(self.run)

    async def stop(self) -> None:
        await self._task.stop()
        listener, self.listener = self.listener, None
        if listener is not None:
            await listener.close()


async def relay_delivery(relay: EventRelay, event: sansio.Event, envelope: Envelope) -> None:
    """Publish a processed workflow delivery for the other replicas; a failure only costs them the REST fallback
    (their correlation reconciles with the REST API when events are late)."""
    if envelope.event not in RELAYED_KINDS or envelope.installation_id is None or envelope.repository is None:
        return
    try:
        await relay.publish(
            delivery_id=envelope.delivery_id,
            kind=envelope.event,
            repository=envelope.repository,
            installation_id=envelope.installation_id,
            data=event.data.get(envelope.event),
        )
    except Exception as exc:
        log.warning("event not relayed", error=str(exc))
