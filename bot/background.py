"""One named background task of the bot (a heartbeat, a poll loop): started at most once, cancelled on stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine


class BackgroundTask:
    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, work: Callable[[], Coroutine[object, object, None]]) -> None:
        """Run `work()` in the running event loop, unless it runs already."""
        if not self.running:
            self._task = asyncio.create_task(work(), name=self.name)

    async def stop(self) -> None:
        """Cancel the task and wait until it has finished (its `finally` blocks included)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
