"""The bot's HTTP face: `POST /webhooks` (GitHub deliveries), `GET /healthz`, `GET /metrics`, and with
`server.public_url` each verification's details page (bot/details.py).

A delivery is checked in this order: room to receive it (503), body size (413) and time to receive it (408),
`X-Hub-Signature-256` over the raw bytes in constant time (401 — nothing is parsed, stored or logged beyond the
rejection), a JSON object whose shared fields have GitHub's types (400), then whether any feature handles it (200,
ignored), room in its queue (503, not recorded), then the delivery id against the store (200, duplicate). Accepted
deliveries are recorded, queued and answered 202 at once, because GitHub gives up on a delivery after 10 s; workers
process them from two bounded queues, commands (`issue_comment`) apart from job tracking, so a flood of comments
never delays a `workflow_job`. A signed payload a handler cannot read is logged and dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from aiohttp import web
from gidgethub import sansio

from bot.details import DetailsPages
from bot.envelope import Envelope
from bot.github.models import PayloadError
from bot.metrics import CONTENT_TYPE, DeliveryOutcome, Metrics
from bot.settings_model import ServerSettings
from bot.store import Store

#: GitHub caps payloads at 25 MB; the events this App handles are a few KB (an issue comment is at most 65,536
#: characters), so 5 MiB leaves ample room while bounding what an unauthenticated caller can make us buffer.
MAX_BODY_BYTES = 5 * 1024 * 1024
UNVERIFIED_EVENT = "unknown"

log = structlog.get_logger("bot.web")
#: Processes one accepted delivery: the parsed payload as gidgethub's routers take it, and its envelope.
Processor = Callable[[sansio.Event, Envelope], Awaitable[None]]
#: Whether a delivery is worth processing, decided from its envelope alone.
Filter = Callable[[Envelope], bool]


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256 of the raw body; compared in constant time."""
    if not header or not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def read_delivery(*, event: str, delivery_id: str, body: bytes) -> tuple[dict[str, Any], Envelope] | None:
    """The payload and its envelope; None unless the body is a JSON object, both GitHub headers are there and the
    shared fields have GitHub's types."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not event or not delivery_id:
        return None
    try:
        return data, Envelope.read(event=event, delivery_id=delivery_id, data=data)
    except PayloadError:
        return None


#: Deliveries that are people's commands; everything else (workflow_run, workflow_job, check_*, pull_request) is
#: job tracking, processed from its own queue so a flood of comments never delays it.
COMMAND_EVENTS = frozenset({"issue_comment"})


@dataclass
class _Lane:
    """One bounded queue of accepted deliveries and the workers that process it."""

    name: str
    capacity: int
    workers: int
    queue: asyncio.Queue[tuple[sansio.Event, Envelope]] = field(init=False)
    #: Slots promised to deliveries being recorded in the store (between the capacity check and the put).
    reserved: int = 0
    #: Deliveries taken from the queue and being processed.
    busy: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.capacity)

    def full(self) -> bool:
        return self.queue.qsize() + self.reserved >= self.capacity


class WebhookIngress:
    """Verifies, deduplicates and acknowledges deliveries; hands accepted ones to `process` from two bounded queues.

    At most `limits.max_requests` deliveries are received at once, each body within `limits.body_timeout`, so slow or
    many senders cannot make the bot buffer unbounded unverified bytes. A delivery is recorded (deduplicated) only
    once its queue has room for it: a 503 leaves it unrecorded, so GitHub's redelivery is processed later.
    """

    def __init__(
        self,
        *,
        secret: str,
        store: Store,
        metrics: Metrics,
        accepts: Filter,
        process: Processor,
        limits: ServerSettings | None = None,
    ) -> None:
        limits = limits or ServerSettings()
        self._secret = secret
        self._store = store
        self._metrics = metrics
        self._accepts = accepts
        self._process = process
        self._body_timeout = limits.body_timeout
        self._receiving = 0
        self._max_requests = limits.max_requests
        self._events = _Lane("events", limits.event_queue, limits.event_workers)
        self._commands = _Lane("commands", limits.command_queue, limits.command_workers)

    @property
    def pending(self) -> int:
        """Accepted deliveries not yet processed (queued or being processed)."""
        return sum(lane.queue.qsize() + lane.busy for lane in self._lanes())

    @property
    def receiving(self) -> int:
        """Deliveries whose request is being received or checked right now (at most `max_requests`)."""
        return self._receiving

    def _lanes(self) -> tuple[_Lane, _Lane]:
        return self._events, self._commands

    def start(self) -> None:
        """Start the workers (in the running event loop)."""
        for lane in self._lanes():
            while len(lane.tasks) < lane.workers:
                name = f"{lane.name} worker {len(lane.tasks) + 1}"
                lane.tasks.append(asyncio.create_task(self._work(lane), name=name))

    async def handle(self, request: web.Request) -> web.Response:
        if self._receiving >= self._max_requests:
            # Counted before the body is read: a crowd of open uploads is refused before it costs memory.
            self._metrics.delivery(event=UNVERIFIED_EVENT, outcome=DeliveryOutcome.DEFERRED)
            log.warning("delivery deferred", reason="too many requests")
            return web.json_response({"error": "busy, redeliver later"}, status=503)
        self._receiving += 1
        try:
            return await self._handle(request)
        finally:
            self._receiving -= 1

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(self._body_timeout):
                body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._metrics.delivery(event=UNVERIFIED_EVENT, outcome=DeliveryOutcome.REJECTED)
            log.warning("delivery rejected", reason="too large")
            return web.json_response({"error": "payload too large"}, status=413)
        except TimeoutError:
            self._metrics.delivery(event=UNVERIFIED_EVENT, outcome=DeliveryOutcome.REJECTED)
            log.warning("delivery rejected", reason="body too slow", seconds=self._body_timeout)
            return await _answer_and_close(request, web.json_response({"error": "request body too slow"}, status=408))
        if not signature_valid(secret=self._secret, body=body, header=request.headers.get("X-Hub-Signature-256")):
            self._metrics.delivery(event=UNVERIFIED_EVENT, outcome=DeliveryOutcome.REJECTED)
            log.warning("delivery rejected", reason="signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        event_name = request.headers.get("X-GitHub-Event", "")
        delivery_id = request.headers.get("X-GitHub-Delivery", "")
        read = read_delivery(event=event_name, delivery_id=delivery_id, body=body)
        if read is None:
            self._metrics.delivery(event=event_name or UNVERIFIED_EVENT, outcome=DeliveryOutcome.REJECTED)
            log.warning("delivery rejected", reason="malformed", delivery=delivery_id, github_event=event_name)
            return web.json_response({"error": "expected a JSON object with GitHub's event headers"}, status=400)
        data, envelope = read
        fields = envelope.log_fields()
        if not self._accepts(envelope):
            self._metrics.delivery(event=event_name, outcome=DeliveryOutcome.IGNORED)
            log.info("delivery ignored", **fields)
            return web.json_response({"outcome": "ignored"}, status=200)
        lane = self._commands if event_name in COMMAND_EVENTS else self._events
        if lane.full():
            # Not recorded, so a redelivery of this id is processed once the backlog has drained.
            self._metrics.delivery(event=event_name, outcome=DeliveryOutcome.DEFERRED)
            log.warning("delivery deferred", reason="backlog", queue=lane.name, **fields)
            return web.json_response({"error": "busy, redeliver later"}, status=503)
        lane.reserved += 1
        try:
            fresh = await self._store.record_delivery(
                delivery_id=delivery_id,
                event=event_name,
                action=envelope.action,
                installation_id=envelope.installation_id,
            )
        finally:
            lane.reserved -= 1
        if not fresh:
            self._metrics.delivery(event=event_name, outcome=DeliveryOutcome.DUPLICATE)
            log.info("delivery duplicate", **fields)
            return web.json_response({"outcome": "duplicate"}, status=200)
        # The slot reserved above is still free (nothing awaited since): this never raises QueueFull.
        lane.queue.put_nowait((sansio.Event(data, event=event_name, delivery_id=delivery_id), envelope))
        self._metrics.delivery(event=event_name, outcome=DeliveryOutcome.ACCEPTED)
        log.info("delivery accepted", queue=lane.name, **fields)
        return web.json_response({"outcome": "accepted"}, status=202)

    async def _work(self, lane: _Lane) -> None:
        while True:
            event, envelope = await lane.queue.get()
            lane.busy += 1
            try:
                await self._run(event, envelope)
            finally:
                lane.busy -= 1
                lane.queue.task_done()

    async def _run(self, event: sansio.Event, envelope: Envelope) -> None:
        with structlog.contextvars.bound_contextvars(
            delivery=envelope.delivery_id, github_event=envelope.event, installation=envelope.installation_id
        ):
            try:
                await self._process(event, envelope)
            except PayloadError as exc:
                # Signed, so it came from GitHub (or whoever holds the secret), but not in a shape we read.
                log.warning("delivery malformed", error=str(exc))
            except Exception as exc:
                log.exception("delivery failed", error_type=type(exc).__name__)

    async def drain(self, timeout: float) -> bool:
        """Wait (bounded) for every accepted delivery to be processed; True when nothing is left."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(lane.queue.join() for lane in self._lanes()))
        except TimeoutError:
            pass
        return self.pending == 0

    async def close(self) -> None:
        """Stop the workers. Deliveries still queued are forgotten by the store, so a redelivery is processed."""
        for lane in self._lanes():
            for task in lane.tasks:
                task.cancel()
            await asyncio.gather(*lane.tasks, return_exceptions=True)
            lane.tasks.clear()
            while not lane.queue.empty():
                _, envelope = lane.queue.get_nowait()
                lane.queue.task_done()
                log.warning("delivery not processed", **envelope.log_fields())
                await self._store.forget_delivery(envelope.delivery_id)


async def _answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send `response`, then drop the connection: aiohttp would otherwise linger to read the rest of a slow body."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


class ReplicaHealth(Protocol):
    """What `/healthz` says about this replica (issue 16): its id, the verifications it owns, the singleton work it
    runs (the runner poller, the redelivery sweep), and whether its database answers."""

    @property
    def replica(self) -> str: ...

    def owned_verifications(self) -> list[str]: ...

    def singletons(self) -> list[str]: ...

    async def database_ready(self) -> bool: ...


#: A readiness probe must answer quickly; a database that takes longer counts as not answering.
HEALTH_DATABASE_TIMEOUT = 2.0


async def _database_answers(replica: ReplicaHealth) -> bool:
    try:
        async with asyncio.timeout(HEALTH_DATABASE_TIMEOUT):
            return await replica.database_ready()
    except Exception as exc:
        log.warning("database not ready", error=str(exc) or type(exc).__name__)
        return False


def build_web_app(
    ingress: WebhookIngress,
    metrics: Metrics,
    *,
    max_body: int = MAX_BODY_BYTES,
    details: DetailsPages | None = None,
    replica: ReplicaHealth | None = None,
) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        body: dict[str, object] = {"status": "ok", "pending_deliveries": ingress.pending}
        if replica is None:
            return web.json_response(body)
        body.update(
            replica=replica.replica, owned_verifications=replica.owned_verifications(), singletons=replica.singletons()
        )
        if not await _database_answers(replica):
            # Not ready: Kubernetes sends no delivery to a replica whose database does not answer.
            body.update(status="unavailable", reason="the database does not answer")
            return web.json_response(body, status=503)
        return web.json_response(body)

    async def metrics_page(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    app = web.Application(client_max_size=max_body)
    app.router.add_post("/webhooks", ingress.handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    if details is not None:
        details.add_routes(app)
    return app
