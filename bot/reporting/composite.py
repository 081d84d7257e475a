"""Tells every reporter about a verification, each isolated: one that fails never stops the others or the run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import structlog

from bot.model import Verification
from bot.ports import ProgressEvent, Reporter

log = structlog.get_logger(__name__)


class CompositeReporter:
    """bot.ports.Reporter fanning out to `reporters` in order. The finishing order is `finish_order` (JIRA first,
    so the final PR comment can show what JIRA did)."""

    def __init__(self, reporters: Sequence[Reporter], *, finish_order: Sequence[Reporter] | None = None) -> None:
        self.reporters = tuple(reporters)
        self._finish_order = tuple(finish_order) if finish_order is not None else self.reporters

    async def started(self, verification: Verification) -> None:
        for reporter in self.reporters:
            await _isolated(reporter, "started", lambda r: r.started(verification))

    async def progress(self, event: ProgressEvent) -> None:
        for reporter in self.reporters:
            await _isolated(reporter, "progress", lambda r: r.progress(event))

    async def finished(self, verification: Verification) -> None:
        for reporter in self._finish_order:
            await _isolated(reporter, "finished", lambda r: r.finished(verification))


async def _isolated(reporter: Reporter, phase: str, call: Callable[[Reporter], Awaitable[None]]) -> None:
    try:
        await call(reporter)
    except Exception as exc:  # a report that cannot be shown is logged; the verification goes on
        log.warning("reporter failed", reporter=type(reporter).__name__, phase=phase, error=str(exc))
