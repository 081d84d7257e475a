"""A Mermaid `gantt` of the workflow jobs per runner, which GitHub renders inside the PR comment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.model import JobRecord, Verification
from bot.reporting.escape import mermaid_text

#: dayjs format (Mermaid's parser) with seconds: jobs in staging last seconds to minutes.
DATE_FORMAT = "YYYY-MM-DD HH:mm:ss"
_PY_FORMAT = "%Y-%m-%d %H:%M:%S"

__all__ = ["gantt", "mermaid_text"]

#: GitHub names its hosted runners "GitHub Actions N", one per job: one section for all of them reads better.
_HOSTED = re.compile(r"^GitHub Actions \d+$")
HOSTED_SECTION = "GitHub-hosted runners"


def _section(runner_name: str) -> str:
    return HOSTED_SECTION if _HOSTED.match(runner_name) else runner_name


def _at(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime(_PY_FORMAT)


def gantt(verification: Verification) -> str | None:
    """The fenced Mermaid block, or None when no job started yet."""
    by_runner: dict[str, list[tuple[str, JobRecord]]] = {}
    for scenario in verification.scenarios:
        for run in scenario.runs:
            for job in run.jobs:
                # A skipped job (e.g. rollback when health checks passed) never ran on any runner.
                if job.started_at is None or job.conclusion == "skipped" or not job.runner_name:
                    continue
                by_runner.setdefault(_section(job.runner_name), []).append((scenario.id.value, job))
    if not by_runner:
        return None
    lines = [
        "```mermaid",
        "gantt",
        "    title Workflow jobs per runner (UTC)",
        f"    dateFormat {DATE_FORMAT}",
        "    axisFormat %H:%M:%S",
    ]
    for runner in sorted(by_runner):
        lines.append(f"    section {mermaid_text(runner)}")
        for scenario_id, job in sorted(by_runner[runner], key=lambda item: item[1].started_at or datetime.min):
            assert job.started_at is not None
            # GitHub's job timestamps are whole seconds; a zero-length bar would vanish from the chart.
            end = job.completed_at if job.completed_at and job.completed_at > job.started_at else None
            end = end or job.started_at + timedelta(seconds=1)
            tags = "crit, " if job.conclusion not in (None, "success", "skipped") else ""
            tags += "done, " if job.completed_at else "active, "
            name = mermaid_text(f"{scenario_id} {job.name} (run {job.run_id})")
            lines.append(f"    {name} :{tags}j{job.job_id}, {_at(job.started_at)}, {_at(end)}")
    lines.append("```")
    return "\n".join(lines)
