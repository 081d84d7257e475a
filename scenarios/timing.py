"""Durations between GitHub's (or a monitored system's) own timestamps, in seconds."""

from __future__ import annotations

from datetime import datetime

from bot.github_models import WorkflowJob


def between(start: datetime | None, end: datetime | None) -> float | None:
    """end - start in seconds; None when either is unknown."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


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
