"""A load balancer for tests: forwards each request on a reserved loopback port to the next of several servers in
turn (as a Kubernetes Service spreads GitHub's deliveries over the bot's replicas), in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

import aiohttp
from aiohttp import web

#: Headers GitHub sends that the bot reads (the signature, the event, the delivery id) and the body's type.
FORWARDED = ("Content-Type", "X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "X-GitHub-Hook-ID")


class RoundRobinProxy:
    """`with RoundRobinProxy(port, upstreams):` listens on 127.0.0.1:`port` (beside a tests.support.ports
    reservation, SO_REUSEPORT) until the block ends; `forwarded[i]` counts requests `upstreams[i]` answered.
    `upstreams[i]` may be replaced while it runs (a pod rescheduled)."""

    def __init__(self, port: int, upstreams: list[str], *, metrics_from: str | None = None) -> None:
        """`metrics_from`: send `GET /metrics` to the upstream whose /healthz lists this singleton work (Prometheus
        scrapes every pod; the runner gauges come from the one that polls the runners), not round-robin."""
        self.port = port
        self.upstreams = upstreams
        self.metrics_from = metrics_from
        self.forwarded = [0] * len(upstreams)
        #: Connections refused by an upstream (then tried on the next).
        self.refused = 0
        self._next = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="round-robin proxy", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def _singleton_holder(self) -> int | None:
        assert self._session is not None
        for index, upstream in enumerate(self.upstreams):
            try:
                async with self._session.get(upstream + "/healthz") as answer:
                    if self.metrics_from in (await answer.json()).get("singletons", []):
                        return index
            except (aiohttp.ClientError, ValueError):
                continue
        return None

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        pinned = await self._singleton_holder() if self.metrics_from and request.path == "/metrics" else None
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
        body = await request.read()
        # An upstream that refuses the connection (a dead pod) is skipped for the next one, as nginx does by default
        # (`proxy_next_upstream error`); one that accepted it and then failed is not retried (it may have acted).
        for _ in range(len(self.upstreams)):
            if pinned is not None:
                index = pinned
            else:
                index = self._next
                self._next = (self._next + 1) % len(self.upstreams)
            try:
                async with self._session.request(
                    request.method, self.upstreams[index] + request.path_qs, data=body, headers=headers
                ) as up:
                    self.forwarded[index] += 1
                    return web.Response(status=up.status, body=await up.read(), content_type=up.content_type)
            except aiohttp.ClientConnectorError:
                self.refused += 1
                continue
            except aiohttp.ClientError:
                self.forwarded[index] += 1
                return web.Response(status=502, text="upstream failed")
        return web.Response(status=502, text="no upstream up")  # as a load balancer answers with every pod down

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        app = web.Application(client_max_size=6 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_port=True).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def __enter__(self) -> RoundRobinProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
