"""Reading lab-truth.jsonl for the benchmarks: the events of one verification, intervals, and their union."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

Event = dict[str, Any]


def at(event: Event) -> float:
    return datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00")).timestamp()


def between(events: Iterable[Event], start: float, end: float) -> list[Event]:
    return [e for e in events if start <= at(e) <= end]


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds covered by at least one interval."""
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(begin, reach)
        reach = end
    return total


def inherent_intervals(events: Sequence[Event]) -> list[tuple[str, float, float]]:
    """What any verifier must wait for, as (what, start, end):

    - each workflow run, from `run_created` to `run_completed` (the pipeline itself, queueing behind a
      concurrency group included);
    - each runner outage, from `runner_stopped` or `runner_offline` (whichever comes first) to the next
      `runner_online` of that runner (GitHub's offline detection and the runner's start-up);
    - each service outage, from `service_stopped` to the next `service_started`;
    - each alert notification (firing or resolved) of a runner alert, from the start of that runner's latest
      outage to `notification_delivered` (Prometheus's `for:`, evaluation and Alertmanager's grouping).
    """
    out: list[tuple[str, float, float]] = []
    runs: dict[Any, float] = {}
    runner_down: dict[str, float] = {}
    last_outage: dict[str, float] = {}
    service_down: dict[str, float] = {}
    for e in events:
        kind, t = e["event"], at(e)
        if kind == "run_created":
            runs[e["run_id"]] = t
        elif kind == "run_completed" and e["run_id"] in runs:
            out.append((f"run {e['run_id']}", runs.pop(e["run_id"]), t))
        elif kind in ("runner_stopped", "runner_offline") and e["runner"] not in runner_down:
            runner_down[e["runner"]] = last_outage[e["runner"]] = t
        elif kind == "runner_online" and e["runner"] in runner_down:
            out.append((f"{e['runner']} outage", runner_down.pop(e["runner"]), t))
        elif kind == "service_stopped":
            service_down.setdefault(e["service"], t)
        elif kind == "service_started" and e["service"] in service_down:
            out.append((f"{e['service']} outage", service_down.pop(e["service"]), t))
        elif kind == "notification_delivered":
            for alert in e.get("alerts") or ():
                runner = (alert.get("labels") or {}).get("runner")
                if runner in last_outage and "Runner" in str((alert.get("labels") or {}).get("alertname")):
                    out.append((f"{alert['labels']['alertname']} {alert['status']}", last_outage[runner], t))
    return out
