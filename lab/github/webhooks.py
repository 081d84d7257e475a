"""Delivers the simulated GitHub's webhooks to the App's webhook URL, signed and with GitHub's headers, through a
bounded background worker, with the delivery faults of the contract (`webhook-loss`, `webhook-chaos`).

GitHub does not retry failed deliveries, expects a 2XX within 10 s, and gives no ordering guarantee; a duplicate
(a redelivery) keeps its `X-GitHub-Delivery` GUID. Every attempt is kept in the App webhook's delivery log
(lab/github/delivery_log.py), from which the App may ask for a redelivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import itertools
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from lab.github.config import SimConfig
from lab.github.delivery_log import Attempt, DeliveryLog, Webhook
from lab.github.shapes import Shapes
from lab.truth import Truth

HOOK_ID = 424242
USER_AGENT = "GitHub-Hookshot/lab"
MAX_QUEUED = 10_000
WORKERS = 4


def sign(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256 of the raw body keyed with the webhook secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(order=True)
class _Due:
    due: float
    seq: int
    delivery: Delivery = field(compare=False)
    redelivery: bool = field(default=False, compare=False)


@dataclass
class Delivery:
    """One webhook as sent (the lab keeps them all so tests can inspect exactly what went out)."""

    guid: str
    event: str
    action: str | None
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


class WebhookHub:
    """Builds envelopes (repository, organization, installation, sender) and delivers them in the background."""

    def __init__(self, config: SimConfig, shapes: Shapes, truth: Truth) -> None:
        self.config = config
        self.shapes = shapes
        self.truth = truth
        self.url = config.webhook_url
        self.sent: list[Delivery] = []  # every delivery built, in creation order
        self._heap: list[_Due] = []
        self._seq = itertools.count()
        self._rng = random.Random(config.delivery.seed)
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._inflight = 0
        self.log = DeliveryLog()  # every attempt, as GET /app/hook/deliveries lists them

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(WORKERS)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    def send(
        self, event: str, body: dict[str, Any], *, sender: str, repository: dict[str, Any] | None = None
    ) -> Delivery | None:
        """Queue `event` (body holds `action` and the event's objects) unless the App is not subscribed;
        `repository` replaces the usual repository object (`push` shows it in its own form)."""
        if event not in self.config.app_events:
            return None
        envelope = {
            **body,
            "repository": repository or self.shapes.repository(),
            "organization": self.shapes.organization(),
            "sender": self.shapes.user(sender),
            "installation": self.shapes.installation_lite(),
        }
        delivery = Delivery(
            guid=str(uuid.uuid4()),
            event=event,
            action=body.get("action"),
            body=json.dumps(envelope, separators=(",", ":")).encode(),
        )
        self.sent.append(delivery)
        faults = self.config.delivery
        if faults.drop_share and self._rng.random() < faults.drop_share:
            self.truth.record("webhook_dropped", delivery=delivery.guid, webhook_event=event, action=delivery.action)
            return delivery
        copies = 2 if faults.duplicate_share and self._rng.random() < faults.duplicate_share else 1
        for _ in range(copies):
            if len(self._heap) >= MAX_QUEUED:
                self.truth.record("webhook_dropped", delivery=delivery.guid, webhook_event=event, reason="queue full")
                break
            delay = self._rng.uniform(0, faults.max_delay) if faults.max_delay else 0.0
            heapq.heappush(self._heap, _Due(time.monotonic() + delay, next(self._seq), delivery))
        self._wake.set()
        return delivery

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery has been attempted (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._heap or self._inflight:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._settled.clear()
            try:
                # Capped so that deliveries still waiting out a chaos delay are re-checked.
                await asyncio.wait_for(self._settled.wait(), min(remaining, 0.1))
            except TimeoutError:
                pass
        return True

    async def _worker(self) -> None:
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self._heap[0].due - time.monotonic()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            item = heapq.heappop(self._heap)
            self._inflight += 1
            try:
                await self._post(item.delivery, redelivery=item.redelivery)
            finally:
                self._inflight -= 1
                self._settled.set()

    def redeliver(self, attempt: Attempt) -> None:
        """Queue the webhook of `attempt` again, as GitHub's redelivery does: same GUID, same body."""
        delivery = next((d for d in reversed(self.sent) if d.guid == attempt.guid), None)
        if delivery is None:
            return
        self.truth.record(
            "webhook_redelivery_requested", delivery=delivery.guid, attempt=attempt.id, webhook_event=delivery.event
        )
        heapq.heappush(self._heap, _Due(time.monotonic(), next(self._seq), delivery, redelivery=True))
        self._wake.set()

    async def _post(self, delivery: Delivery, *, redelivery: bool = False) -> None:
        if not self.url or self._session is None:
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": delivery.guid,
            "X-GitHub-Hook-ID": str(HOOK_ID),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-GitHub-Hook-Installation-Target-ID": str(self.config.app_id),
            "X-Hub-Signature": "sha1="
            + hmac.new(self.config.webhook_secret.encode(), delivery.body, hashlib.sha1).hexdigest(),
            "X-Hub-Signature-256": sign(self.config.webhook_secret, delivery.body),
        }
        status: int | None = None
        timed_out = False
        began = time.monotonic()
        try:
            async with self._session.post(self.url, data=delivery.body, headers=headers) as answer:
                status = answer.status
                await answer.read()
        except TimeoutError:
            timed_out = True  # GitHub: no 2XX within 10 s is a failed delivery
        except (aiohttp.ClientError, OSError):
            status = None
        repository = delivery.payload.get("repository")
        webhook = Webhook(
            guid=delivery.guid,
            event=delivery.event,
            action=delivery.action,
            installation_id=self.config.installation_id,
            repository_id=repository.get("id") if isinstance(repository, dict) else None,
        )
        attempt = self.log.record(
            webhook, redelivery=redelivery, duration=time.monotonic() - began, answer=status, timed_out=timed_out
        )
        self.truth.record(
            "webhook_delivered",
            delivery=delivery.guid,
            webhook_event=delivery.event,
            action=delivery.action,
            status=status,
            attempt=attempt.id,
            redelivery=redelivery,
        )
