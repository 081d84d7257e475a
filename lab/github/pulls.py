"""The repository's pull requests as they stand now: the lab world opens them (SimConfig), and a push to a head
branch (`POST /_lab/pulls/{number}/push`) moves that branch, and so the pull request, to a new commit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace

from lab.github.config import PullSpec


class Pulls:
    """Pull requests by number; a push replaces one with its new head."""

    def __init__(self, specs: tuple[PullSpec, ...]) -> None:
        self._by_number = {spec.number: spec for spec in specs}
        self._pushes = 0

    def __iter__(self) -> Iterator[PullSpec]:
        return iter(list(self._by_number.values()))

    def get(self, number: int) -> PullSpec | None:
        return self._by_number.get(number)

    def move_head(self, number: int) -> tuple[PullSpec, PullSpec]:
        """A new commit on the pull request's head branch: (before, after). Raises KeyError for an unknown one."""
        before = self._by_number[number]
        self._pushes += 1
        # A commit id is a SHA-1; derived from the previous head so a lab run is reproducible.
        seed = f"lab push {self._pushes} onto {before.head_sha}".encode()
        after = replace(before, head_sha=hashlib.sha1(seed, usedforsecurity=False).hexdigest())
        self._by_number[number] = after
        return before, after
