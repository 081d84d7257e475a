"""The bot's HTTP face: `POST /webhooks` (GitHub deliveries), `GET /healthz`, `GET /metrics`.

A delivery is checked in this order: body size (413), `X-Hub-Signature-256` over the raw bytes in constant time
(401 — nothing is parsed, stored or logged beyond the rejection), a JSON object whose shared fields have GitHub's
types (400), then whether any feature handles it (200, ignored), then the delivery id against the store (200,
duplicate). Accepted deliveries are answered 202 at once and processed in a bounded set of background tasks, because
GitHub gives up on a delivery after 10 s. A signed payload a handler cannot read is logged and dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiohttp import web
from gidgethub import sansio

from bot.github_models import PayloadError
from bot.metrics import CONTENT_TYPE, Metrics
from bot.store import Store

#: GitHub caps payloads at 25 MB; the events this App handles are a few KB (an issue comment is at most 65,536
#: characters), so 5 MiB leaves ample room while bounding what an unauthenticated caller can make us buffer.
MAX_BODY_BYTES = 5 * 1024 * 1024
UNVERIFIED_EVENT = "unknown"

log = structlog.get_logger("bot.web")
Processor = Callable[[sansio.Event], Awaitable[None]]
Filter = Callable[[str, Mapping[str, Any]], bool]


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256 of the raw body; compared in constant time."""
    if not header or not secret:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def envelope_valid(data: Mapping[str, Any]) -> bool:
    """The fields every delivery shares, where present, have GitHub's types (routing and logging rely on them)."""
    action, installation, repository = data.get("action"), data.get("installation"), data.get("repository")
    if action is not None and not isinstance(action, str):
        return False
    if installation is not None:
        ident = installation.get("id") if isinstance(installation, dict) else None
        if not isinstance(ident, int) or isinstance(ident, bool):
            return False
    if repository is not None:
        name = repository.get("full_name") if isinstance(repository, dict) else None
        if not isinstance(name, str):
            return False
    return True


class WebhookIngress:
    """Verifies, deduplicates and acknowledges deliveries; hands accepted ones to `process` in the background."""

    def __init__(
        self,
        *,
        secret: str,
        store: Store,
        metrics: Metrics,
        accepts: Filter,
        process: Processor,
        max_pending: int = 256,
        max_concurrency: int = 8,
    ) -> None:
        self._secret = secret
        self._store = store
        self._metrics = metrics
        self._accepts = accepts
        self._process = process
        self._max_pending = max_pending
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._metrics.delivery(event=UNVERIFIED_EVENT, outcome="rejected")
            log.warning("delivery rejected", reason="too large")
            return web.json_response({"error": "payload too large"}, status=413)
        if not signature_valid(secret=self._secret, body=body, header=request.headers.get("X-Hub-Signature-256")):
            self._metrics.delivery(event=UNVERIFIED_EVENT, outcome="rejected")
            log.warning("delivery rejected", reason="signature")
            return web.json_response({"error": "invalid signature"}, status=401)
        event_name = request.headers.get("X-GitHub-Event", "")
        delivery_id = request.headers.get("X-GitHub-Delivery", "")
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if not isinstance(data, dict) or not event_name or not delivery_id or not envelope_valid(data):
            self._metrics.delivery(event=event_name or UNVERIFIED_EVENT, outcome="rejected")
            log.warning("delivery rejected", reason="malformed", delivery=delivery_id, github_event=event_name)
            return web.json_response({"error": "expected a JSON object with GitHub's event headers"}, status=400)
        action = data.get("action") if isinstance(data.get("action"), str) else None
        installation = data.get("installation")
        installation_id = installation.get("id") if isinstance(installation, dict) else None
        fields = {
            "delivery": delivery_id,
            "github_event": event_name,
            "action": action,
            "installation": installation_id,
        }
        if not self._accepts(event_name, data):
            self._metrics.delivery(event=event_name, outcome="ignored")
            log.info("delivery ignored", **fields)
            return web.json_response({"outcome": "ignored"}, status=200)
        if len(self._tasks) >= self._max_pending:
            # Not recorded, so a redelivery of this id is processed once the backlog has drained.
            log.warning("delivery deferred", reason="backlog", **fields)
            return web.json_response({"error": "busy, redeliver later"}, status=503)
        fresh = await self._store.record_delivery(
            delivery_id=delivery_id,
            event=event_name,
            action=action,
            installation_id=installation_id if isinstance(installation_id, int) else None,
        )
        if not fresh:
            self._metrics.delivery(event=event_name, outcome="duplicate")
            log.info("delivery duplicate", **fields)
            return web.json_response({"outcome": "duplicate"}, status=200)
        self._metrics.delivery(event=event_name, outcome="accepted")
        log.info("delivery accepted", **fields)
        event = sansio.Event(data, event=event_name, delivery_id=delivery_id)
        task = asyncio.create_task(self._run(event, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"outcome": "accepted"}, status=202)

    async def _run(self, event: sansio.Event, fields: Mapping[str, object]) -> None:
        async with self._semaphore:
            with structlog.contextvars.bound_contextvars(
                delivery=fields["delivery"], github_event=fields["github_event"], installation=fields["installation"]
            ):
                try:
                    await self._process(event)
                except PayloadError as exc:
                    # Signed, so it came from GitHub (or whoever holds the secret), but not in a shape we read.
                    log.warning("delivery malformed", error=str(exc))
                except Exception as exc:
                    log.exception("delivery failed", error_type=type(exc).__name__)

    async def drain(self, timeout: float) -> bool:
        """Wait (bounded) for background work to finish; True when nothing is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        return not self._tasks

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def build_web_app(ingress: WebhookIngress, metrics: Metrics, *, max_body: int = MAX_BODY_BYTES) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "pending_deliveries": ingress.pending})

    async def metrics_page(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    app = web.Application(client_max_size=max_body)
    app.router.add_post("/webhooks", ingress.handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app
