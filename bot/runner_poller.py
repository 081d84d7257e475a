"""Keeps `verify_staging_runner_online` / `_busy` current by asking GitHub's runners API on a fixed interval.

GitHub sends no webhook when a runner goes offline, so the RunnerOffline alert depends on this poll. The poller
needs each repository's installation id: it learns it from deliveries, else asks `GET /repos/{o}/{r}/installation`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

import structlog

from bot.metrics import Metrics
from bot.ports import GitHubError, GitHubRepo

log = structlog.get_logger("bot.runner_poller")


class RunnerDirectory(Protocol):
    def repo(self, *, installation_id: int, repository: str) -> GitHubRepo: ...

    async def installation_for(self, repository: str) -> int: ...


class RunnerPoller:
    def __init__(
        self,
        *,
        github: RunnerDirectory,
        metrics: Metrics,
        repositories: Sequence[str],
        expected_runners: Sequence[str] = (),
        interval: float = 30.0,
    ) -> None:
        self._github = github
        self._metrics = metrics
        self._repositories = tuple(repositories)
        self._installations: dict[str, int] = {}
        # Runners seen or configured: one missing from GitHub's list reads offline rather than vanishing.
        self._known: set[str] = set(expected_runners)
        self._interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.polls = 0

    def learn(self, *, repository: str, installation_id: int) -> None:
        for configured in self._repositories:
            if configured.lower() == repository.lower():
                self._installations[configured] = installation_id

    async def poll_once(self) -> None:
        listed: dict[str, tuple[bool, bool]] = {}
        for repository in self._repositories:
            try:
                installation_id = self._installations.get(repository)
                if installation_id is None:
                    installation_id = await self._github.installation_for(repository)
                    self._installations[repository] = installation_id
                runners = await self._github.repo(installation_id=installation_id, repository=repository).list_runners()
            except GitHubError as exc:
                # A failed poll leaves the gauges as they were: an API hiccup is not a runner outage.
                log.warning("runner poll failed", repository=repository, status=exc.status)
                return
            listed.update({r.name: (r.online, r.busy) for r in runners})
        self._known |= set(listed)
        for name in sorted(self._known):
            online, busy = listed.get(name, (False, False))
            self._metrics.runner(name=name, online=online, busy=busy)
        self.polls += 1

    async def _loop(self) -> None:
        while not self._stop.is_set():
            await self.poll_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._interval)

    def start(self) -> None:
        if self._task is None and self._repositories:
            self._stop.clear()  # started again after a stop (the poller is singleton work that moves between replicas)
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            task, self._task = self._task, None
            try:
                await asyncio.wait_for(task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
