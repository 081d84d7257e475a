"""Keeps every finished verification's verdict and measurements as history rows, for trends and baselines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from bot.model import ScenarioConclusion, Verification
from bot.ports import ProgressEvent

log = structlog.get_logger(__name__)

#: What started a verification when the model does not say (verifications stored before triggers were kept).


@dataclass(frozen=True)
class HistoryEntry:
    """One finished verification, as the history page and the `history` command list it."""

    verification_id: str
    repository: str
    pull_request: int
    environment: str
    ref: str
    sha: str
    trigger: str
    requested_by: str
    started_at: datetime
    completed_at: datetime
    conclusion: str
    #: How many measurements were flagged as regressed.
    regressions: int


@dataclass(frozen=True)
class MeasurementPoint:
    """One measurement of one verification: a point of its trend."""

    verification_id: str
    environment: str
    scenario: str
    measurement: str
    value: float | None
    #: Its scenario passed (only such values make a regression baseline).
    passed: bool
    regressed: bool
    at: datetime
    ref: str
    sha: str
    trigger: str


def history_rows(v: Verification) -> tuple[HistoryEntry, list[MeasurementPoint]] | None:
    """The rows a finished verification leaves in the history (None while it runs)."""
    if v.completed_at is None or v.conclusion is None:
        return None
    trigger = v.trigger.value
    entry = HistoryEntry(
        verification_id=v.verification_id, repository=v.repository, pull_request=v.pull_request,
        environment=v.environment, ref=v.ref, sha=v.head_sha, trigger=trigger, requested_by=v.requested_by,
        started_at=v.started_at, completed_at=v.completed_at, conclusion=v.conclusion.value,
        regressions=sum(len(s.regressions) for s in v.scenarios),
    )  # fmt: skip
    points = [
        MeasurementPoint(
            verification_id=v.verification_id, environment=v.environment, scenario=s.id.value, measurement=name,
            value=value, passed=s.conclusion is ScenarioConclusion.PASSED,
            regressed=any(r.measurement == name for r in s.regressions),
            at=v.completed_at, ref=v.ref, sha=v.head_sha, trigger=trigger,
        )
        for s in v.scenarios
        for name, value in s.measurements.items()
    ]  # fmt: skip
    return entry, points


class HistoryStore(Protocol):
    """The part of bot/store/ that keeps history."""

    async def record_history(self, entry: HistoryEntry, points: list[MeasurementPoint]) -> None: ...


class HistoryReporter:
    """bot.ports.Reporter that writes a verification's history rows when it finishes (again when an undo that
    failed is later restored: the rows are replaced, not repeated). Starts and progress leave no history."""

    def __init__(self, store: HistoryStore) -> None:
        self._store = store

    async def _ignored(self, _: Verification | ProgressEvent) -> None:
        return None

    started = progress = _ignored

    async def backfill(self, verifications: list[Verification]) -> None:
        """At start-up: the rows of verifications that completed while the bot was stopping (the reporters run after
        the verification is stored as complete, so a kill in between left no history row)."""
        for verification in verifications:
            await self.finished(verification)

    async def finished(self, verification: Verification) -> None:
        rows = history_rows(verification)
        if rows is None:
            return
        await self._store.record_history(*rows)
        log.info("history recorded", verification=verification.verification_id, measurements=len(rows[1]))
