"""Waiting for a condition with a deadline, never for a fixed time: `wait_for` (blocking) and `wait_until` (async).

runner = wait_for(lambda: runners().get("production-runner-01"), timeout=15, what="the runner")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Calls `probe` until it returns something truthy (an empty list keeps waiting) and returns that; fails the
    test naming `what` after `timeout` s. The probe runs once more at the deadline, so a slow probe is not cut
    short by its own duration."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


async def wait_until(
    condition: Callable[[], bool], *, timeout: float = 10.0, what: str = "the condition", interval: float = 0.02
) -> None:
    """`wait_for` for async tests whose condition reads in-process state: the event loop runs while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)
