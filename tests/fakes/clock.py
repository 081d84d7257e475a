"""A virtual clock (bot.ports.Clock) so scenario tests that span minutes of staging time finish at once.

`sleep()` parks the caller until virtual time reaches its deadline. Time moves only when the event loop has
nothing else to do: `FakeClock.run()` (started by `running()`) lets every ready task run, then jumps to the
earliest deadline. Sleepers therefore wake in deadline order, exactly as on a real clock, without real waiting.
Work the loop cannot see (a worker thread) must be wrapped in `hold()` so time stands still meanwhile.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)

#: How many loop passes in a row with nothing else ready count as "idle".
_IDLE_PASSES = 3


class FakeClock:
    """bot.ports.Clock on virtual time. `advance()` moves it by hand; `running()` moves it automatically."""

    def __init__(self, *, start: datetime = EPOCH) -> None:
        self._start = start
        self._t = 0.0
        self._seq = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._held = 0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    def monotonic(self) -> float:
        return self._t

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._t + max(0.0, seconds), next(self._seq), fut))
        await fut

    def advance(self, seconds: float) -> None:
        """Move time forward by hand, waking every sleeper whose deadline has come."""
        self._wake_until(self._t + seconds)

    def _wake_until(self, t: float) -> None:
        self._t = max(self._t, t)
        while self._sleepers and self._sleepers[0][0] <= self._t:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def _next_deadline(self) -> float | None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers
        return self._sleepers[0][0] if self._sleepers else None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Keep time still while awaiting work the loop cannot see (a worker thread, e.g. SQLite)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    async def run(self, *, limit: float = 24 * 3600) -> None:
        """Advance to each next deadline whenever the loop is idle, up to `limit` virtual seconds."""
        loop = asyncio.get_running_loop()
        quiet = 0
        while self._t <= limit:
            await asyncio.sleep(0)
            # CPython's ready queue (private): empty means no task but this one can run right now.
            busy = bool(getattr(loop, "_ready", ())) or self._held
            quiet = 0 if busy else quiet + 1
            if self._held:
                await asyncio.sleep(0.0005)  # a worker thread is busy: real time passes, virtual time does not
            if quiet < _IDLE_PASSES:
                continue
            deadline = self._next_deadline()
            if deadline is None:
                await asyncio.sleep(0.001)  # nobody sleeps: wait for outside work without spinning the CPU
            else:
                self._wake_until(deadline)
            quiet = 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeClock]:
        """Drive virtual time in the background for the duration of the block."""
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
