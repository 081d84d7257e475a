"""What the timeline picture shows and when, read from the result model: the jobs that ran on each runner, the
faults the bot injected, the failover and rollback deadlines, and when the alert fired and was notified."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.model import JobRecord, ScenarioId, ScenarioResult, Verification
from bot.reporting.mermaid import HOSTED_SECTION

#: GitHub's job timestamps are whole seconds; a zero-length bar would vanish.
MIN_SPAN = timedelta(seconds=1)


class FaultKind(StrEnum):
    RUNNER = "runner"
    BACKEND = "backend"
    OTHER = "other"


class MarkerKind(StrEnum):
    FAILOVER_DEADLINE = "deadline-failover"
    ROLLBACK_DEADLINE = "deadline-rollback"
    ALERT_FIRED = "alert-fired"
    ALERT_NOTIFIED = "alert-notified"


#: GitHub names its hosted runners "GitHub Actions N", one per job: one row for all of them reads better.
_HOSTED = re.compile(r"^GitHub Actions \d+$")


@dataclass(frozen=True)
class JobBar:
    job_id: int
    #: The row the job is drawn on: its runner's name, or one row for all GitHub-hosted runners.
    runner: str
    scenario: ScenarioId
    name: str
    conclusion: str | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class FaultBand:
    index: int
    host: str
    kind: FaultKind
    start: datetime
    end: datetime
    restored: bool


@dataclass(frozen=True)
class Marker:
    kind: MarkerKind
    at: datetime
    #: The threshold a deadline stands for (seconds after its start), None for the alert's points.
    seconds: float | None = None


#: Which service a scenario stops (the seed's T042: failover and monitoring stop the primary runner).
_FAULT_KIND = {
    ScenarioId.FAILOVER: FaultKind.RUNNER,
    ScenarioId.MONITORING: FaultKind.RUNNER,
    ScenarioId.ROLLBACK: FaultKind.BACKEND,
}


def job_bars(v: Verification) -> list[JobBar]:
    """Every job that ran on a runner, from its start to its completion (or the verification's end)."""
    bars = []
    for scenario in v.scenarios:
        for job in _jobs(scenario):
            # A skipped job (e.g. rollback when health checks passed) never ran on any runner.
            if job.started_at is None or job.conclusion == "skipped" or not job.runner_name:
                continue
            end = max(job.completed_at or v.completed_at or job.started_at, job.started_at + MIN_SPAN)
            row = HOSTED_SECTION if _HOSTED.match(job.runner_name) else job.runner_name
            bars.append(JobBar(job.job_id, row, scenario.id, job.name, job.conclusion, job.started_at, end))
    return sorted(bars, key=lambda b: b.start)


def fault_bands(v: Verification) -> list[FaultBand]:
    """Every fault that was put in place, to its restoration; one never restored runs to the verification's end."""
    bands = []
    for index, r in enumerate(v.restorations):
        if r.injected_at is None:
            continue  # recorded before the harm was done, and the harm never was
        scenario = _scenario_at(v, r.injected_at)
        kind = _FAULT_KIND.get(scenario.id, FaultKind.OTHER) if scenario else FaultKind.OTHER
        end = r.restored_at if r.ok and r.restored_at else (v.completed_at or r.restored_at or r.injected_at)
        bands.append(FaultBand(index, r.host, kind, r.injected_at, max(end, r.injected_at + MIN_SPAN), r.ok))
    return bands


def deadlines(v: Verification) -> list[Marker]:
    """The failover deadline (its run's creation + the threshold) and the rollback deadline (the failed health
    check's completion + the threshold), as the scenarios measure them, for the scenarios that ran."""
    markers = []
    failover = _scenario(v, ScenarioId.FAILOVER)
    seconds = _threshold(failover, "failover-latency") if failover else None
    start = _failover_start(failover) if failover else None
    if seconds is not None and start is not None:
        markers.append(Marker(MarkerKind.FAILOVER_DEADLINE, start + timedelta(seconds=seconds), seconds))
    rollback = _scenario(v, ScenarioId.ROLLBACK)
    seconds = _threshold(rollback, "rollback-duration") if rollback else None
    start = _rollback_start(rollback) if rollback else None
    if seconds is not None and start is not None:
        markers.append(Marker(MarkerKind.ROLLBACK_DEADLINE, start + timedelta(seconds=seconds), seconds))
    return markers


def alert_points(v: Verification) -> list[Marker]:
    """When the alert fired and when the on-call receiver was notified. The monitoring scenario measures both from
    the moment its runner stop was in place (the latest fault injected while it ran): that moment plus the
    measurements is when, to the millisecond the measurements keep."""
    s = _scenario(v, ScenarioId.MONITORING)
    if s is None or s.started_at is None:
        return []
    stopped = [r.injected_at for r in v.restorations if r.injected_at and _scenario_at(v, r.injected_at) is s]
    fire_s = s.measurements.get("alert_fire_s")
    if not stopped or fire_s is None:
        return []
    fired = max(stopped) + timedelta(seconds=fire_s)
    points = [Marker(MarkerKind.ALERT_FIRED, fired)]
    notify_s = s.measurements.get("notification_s")
    if notify_s is not None:
        points.append(Marker(MarkerKind.ALERT_NOTIFIED, fired + timedelta(seconds=notify_s)))
    return points


# ------------------------------------------------------------------------------------------------ internals
def _jobs(s: ScenarioResult) -> Iterator[JobRecord]:
    for run in s.runs:
        yield from run.jobs


def _scenario(v: Verification, scenario_id: ScenarioId) -> ScenarioResult | None:
    return next((s for s in v.scenarios if s.id == scenario_id), None)


def _scenario_at(v: Verification, at: datetime) -> ScenarioResult | None:
    for s in v.scenarios:
        if s.started_at and s.started_at <= at and (not s.completed_at or at <= s.completed_at):
            return s
    return None


def _threshold(s: ScenarioResult, criterion_id: str) -> float | None:
    for c in s.criteria:
        if c.id == criterion_id and isinstance(c.threshold, int | float) and not isinstance(c.threshold, bool):
            return float(c.threshold)
    return None


def _failover_start(s: ScenarioResult) -> datetime | None:
    """The creation of the run whose job started `failover_latency_s` later (scenarios/failover.py measures so)."""
    latency = s.measurements.get("failover_latency_s")
    runs = [r for r in s.runs if r.created_at is not None]
    for run in runs:
        for job in run.jobs:
            if latency is not None and run.created_at is not None and job.started_at is not None:
                if abs((job.started_at - run.created_at).total_seconds() - latency) < 0.5:
                    return run.created_at
    return runs[0].created_at if runs else None


def _rollback_start(s: ScenarioResult) -> datetime | None:
    """The failed health check's completion: the latest failed job (scenarios/rollback.py measures from it)."""
    failed = [j.completed_at for j in _jobs(s) if j.conclusion == "failure" and j.completed_at is not None]
    return max(failed) if failed else None
