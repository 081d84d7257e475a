"""What each part of the simulated GitHub (its Actions, its repository's conversation and checks) works with: the
configuration, GitHub's JSON shapes, the webhook hub, the truth log and the pull requests."""

from __future__ import annotations

from lab.github.config import SimConfig
from lab.github.pulls import Pulls
from lab.github.shapes import Shapes
from lab.github.webhooks import WebhookHub
from lab.truth import Truth


class SimPart:
    def __init__(self, config: SimConfig, shapes: Shapes, hub: WebhookHub, truth: Truth, *, pulls: Pulls) -> None:
        self.config = config
        self.pulls = pulls
        self.shapes = shapes
        self.hub = hub
        self.truth = truth
