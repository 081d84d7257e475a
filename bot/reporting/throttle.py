"""Coalesce live updates so a verification stays within GitHub's request budget, yet always shows the last state.

A `Coalescer` owns one target (a check run, the PR comment). `push()` sends at once when the last send is older
than the interval, otherwise it marks the target dirty and one deferred send carries the newest state. `final()`
drops any deferred send and sends now; after it, pushes are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from bot.ports import Clock

log = structlog.get_logger(__name__)


class Coalescer:
    def __init__(self, *, clock: Clock, interval: float, send: Callable[[], Awaitable[None]], name: str) -> None:
        self._clock = clock
        self._interval = interval
        self._send = send
        self._name = name
        self._last: float | None = None
        self._deferred: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.closed = False
        self.sent = 0

    async def push(self) -> None:
        """Show the current state soon: now if the interval has passed, else in one deferred send."""
        if self.closed:
            return
        now = self._clock.monotonic()
        if self._last is None or now - self._last >= self._interval:
            await self._send_now(final=False)
        elif self._deferred is None:
            delay = self._interval - (now - self._last)
            self._deferred = asyncio.create_task(self._later(delay))

    async def now(self) -> None:
        """Show the current state at once (a scenario started): worth a request of its own."""
        if self.closed:
            return
        await self._drop_deferred()
        await self._send_now(final=False)

    async def final(self) -> None:
        """Send the final state now (once); nothing is sent after it."""
        if self.closed:
            return
        await self._drop_deferred()
        await self._send_now(final=True)

    async def close(self) -> None:
        """Stop without sending (the target is gone or the verification ended elsewhere)."""
        self.closed = True
        await self._drop_deferred()

    async def _later(self, delay: float) -> None:
        await self._clock.sleep(delay)
        self._deferred = None
        try:
            await self._send_now(final=False)
        except Exception as exc:  # a deferred send has no caller to tell; the next push or final() tries again
            log.warning("report update failed", target=self._name, error=str(exc))

    async def _drop_deferred(self) -> None:
        task, self._deferred = self._deferred, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send_now(self, *, final: bool) -> None:
        async with self._lock:
            if self.closed:
                return
            if final:
                self.closed = True
            self._last = self._clock.monotonic()
            self.sent += 1
            await self._send()
