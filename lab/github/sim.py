"""The simulated GitHub's parts wired together (no I/O here): actions, runners, repository, credentials and the
webhook hub, plus the aiohttp application key under which handlers find them."""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from lab.github.actions import Actions
from lab.github.auth import Authority
from lab.github.config import SimConfig
from lab.github.log_urls import LogSigner
from lab.github.pulls import Pulls
from lab.github.repo import Repo
from lab.github.shapes import Shapes
from lab.github.webhooks import WebhookHub


@dataclass
class RateCounter:
    """Primary rate limit bookkeeping per credential (GitHub: 5,000 requests an hour for an installation)."""

    limit: int = 5000
    window_start: float = field(default_factory=time.time)
    used: dict[str, int] = field(default_factory=dict)

    def count(self, key: str) -> tuple[int, int, int]:
        """Counts one request; returns (limit, remaining, reset epoch)."""
        now = time.time()
        if now - self.window_start >= 3600:
            self.window_start, self.used = now, {}
        self.used[key] = self.used.get(key, 0) + 1
        return self.limit, max(0, self.limit - self.used[key]), int(self.window_start + 3600)

    def peek(self, key: str) -> tuple[int, int, int]:
        return self.limit, max(0, self.limit - self.used.get(key, 0)), int(self.window_start + 3600)


class Sim:
    """Everything the handlers need, built from one SimConfig and the server's base URL."""

    def __init__(self, config: SimConfig, base_url: str) -> None:
        self.config = config
        self.pulls = Pulls(config.pull_requests)
        self.shapes = Shapes(config, base_url, pulls=self.pulls)
        self.hub = WebhookHub(config, self.shapes, config.truth)
        self.actions = Actions(config, self.shapes, self.hub, config.truth, pulls=self.pulls)
        self.repo = Repo(config, self.shapes, self.hub, config.truth, pulls=self.pulls)
        self.authority = Authority(config, self.actions.job_tokens)
        self.rate = RateCounter()
        self.flaky = config.flaky
        self.flaky_rng = random.Random(config.flaky.seed)
        self.last_rate_limited = time.time()  # the first rate-limit answer comes one period after start
        self.calls = 0
        # What each authenticated REST request was (never its credentials), for the API-economy benchmark.
        self.requests: deque[dict[str, object]] = deque(maxlen=100_000)
        # Jobs' logs: the key of their signed URLs, and each download (job id, whether it carried credentials).
        self.log_signer = LogSigner()
        self.log_downloads: deque[dict[str, object]] = deque(maxlen=10_000)

    def tick(self) -> None:
        self.actions.pool.tick()


SIM = web.AppKey("sim", Sim)
