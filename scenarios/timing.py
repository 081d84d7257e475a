"""Durations between GitHub's (or a monitored system's) own timestamps, in seconds."""

from __future__ import annotations

from datetime import datetime

from bot.github.models import WorkflowJob


def between(start: datetime | None, end: datetime | None) -> float | None:
    """end - start in seconds; None when either is unknown."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def overlap(
    a_start: datetime | None, a_end: datetime | None, b_start: datetime | None, b_end: datetime | None
) -> float | None:
    """How long two intervals ran at the same time, in whichever order they ran; 0 when they did not meet.

    An interval that started but has no end is taken as still running. None when a start is unknown, or when
    neither interval has an end (then nothing bounds the overlap).
    """
    if a_start is None or b_start is None or (a_end is None and b_end is None):
        return None
    start = max(a_start, b_start)
    ends = [e for e in (a_end, b_end) if e is not None]
    return max(0.0, (min(ends) - start).total_seconds())


def fmt(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:g} s"


def started(job: WorkflowJob | None) -> datetime | None:
    return job.started_at if job is not None else None


def completed(job: WorkflowJob | None) -> datetime | None:
    return job.completed_at if job is not None else None


def run_s(job: WorkflowJob | None) -> float | None:
    """A job's own duration: started -> completed."""
    return between(started(job), completed(job))


def queue_s(job: WorkflowJob | None) -> float | None:
    """How long a job waited for a runner: created -> started."""
    return between(job.created_at if job is not None else None, started(job))
