"""An HTTP health-probe stand-in for unit tests (bot.ports.HttpProbe): each URL answers what a route says.

`set(url, status=..., body=...)` fixes an answer; `route(url, fn)` computes one per call (fn returns
`(status, body)`, or None for "connection refused"). A dict body stands for a JSON answer, which `health` and
`version` read as the real adapter reads Actuator JSON. Unknown URLs are refused. Calls are logged in `calls`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.http_probe import actuator_health, actuator_version
from bot.ports import Health, ProbeResult

Answer = tuple[int, Any] | None


@dataclass
class FakeProbe:
    routes: dict[str, Callable[[], Answer]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def set(self, url: str, *, status: int, body: Any = None) -> None:
        self.routes[url] = lambda: (status, body)

    def route(self, url: str, fn: Callable[[], Answer]) -> None:
        self.routes[url] = fn

    async def get(self, url: str, *, timeout: float) -> ProbeResult:
        answer, _ = self._answer(url)
        return answer

    async def health(self, url: str, *, timeout: float) -> Health:
        return actuator_health(*self._answer(url))

    async def version(self, url: str, *, timeout: float) -> str | None:
        _, body = self._answer(url)
        return actuator_version(body)

    def _answer(self, url: str) -> tuple[ProbeResult, object]:
        self.calls.append(url)
        answer = self.routes[url]() if url in self.routes else None
        if answer is None:
            return ProbeResult(url=url, status=None, error="connection refused", elapsed=0.0), None
        status, body = answer
        return ProbeResult(url=url, status=status, error=None, elapsed=0.0), body
