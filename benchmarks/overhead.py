"""Overhead: the wall time of one healthy five-scenario verification divided by the lab's inherent minimum.

The wall time is the bot's own: from the moment it started the verification (right after reading the comment)
to the moment it concluded it. The inherent minimum is computed from lab-truth.jsonl as the length of the union
of the intervals any verifier must wait for (see `benchmarks.truth.inherent_intervals`): every workflow run from
creation to completion, every runner outage from stop to GitHub reporting the runner online again, every service
outage, and every runner alert's notification from the runner's stop to Alertmanager delivering it. What lies
outside that union is the bot's own time: reading the comment, preflight checks, SSH commands, probes, REST
requests and reports between the waits.

    .venv/bin/python -m benchmarks.overhead [--json]

Goal: <= 1.10.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._lab import command, one_verification, running_world
from benchmarks.report import Row, machine, print_table, scenario_benchmark_main
from benchmarks.truth import between, inherent_intervals, union_length

GOAL = 1.10


def measure(*, scenarios: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp, running_world(Path(tmp)) as world:
        run = one_verification(world, command(scenarios))
    v = run.verification
    assert v.completed_at is not None
    start, end = v.started_at.timestamp(), v.completed_at.timestamp()
    intervals = inherent_intervals(between(run.truth, start, end))
    inherent = union_length((b, e) for _, b, e in intervals)
    wall = end - start
    ratio = wall / inherent if inherent else float("inf")
    gaps = _gaps(intervals, start, end)
    return {
        "benchmark": "overhead",
        "machine": machine(),
        "conclusions": run.verdict.conclusions(),
        "wall_s": round(wall, 3),
        "inherent_s": round(inherent, 3),
        "comment_to_started_s": round(start - run.commented_at, 3),
        "intervals": [{"what": w, "s": round(e - b, 3), "from_start_s": round(b - start, 3)} for w, b, e in intervals],
        "largest_gaps": gaps[:8],
        "goals": {"ratio": {"goal": f"<= {GOAL:.2f}", "value": round(ratio, 3), "met": ratio <= GOAL}},
    }


def _gaps(intervals: list[tuple[str, float, float]], start: float, end: float) -> list[dict[str, float]]:
    """Stretches of the bot's own time (outside every inherent interval), largest first."""
    gaps, reach = [], start
    for _, b, e in sorted(intervals, key=lambda i: i[1]):
        if b > reach:
            gaps.append({"from_start_s": round(reach - start, 3), "s": round(b - reach, 3)})
        reach = max(reach, e)
    if end > reach:
        gaps.append({"from_start_s": round(reach - start, 3), "s": round(end - reach, 3)})
    return sorted(gaps, key=lambda g: -g["s"])


def show(result: dict[str, Any]) -> None:
    goal = result["goals"]["ratio"]
    print("verification wall time against the lab's inherent minimum (healthy lab, five scenarios)")
    print(f"scenario conclusions: {result['conclusions']}")
    print_table(
        ("measure", "value", "goal", "met"),
        [
            Row("wall time s (bot: started -> concluded)", result["wall_s"], "", None),
            Row("inherent minimum s (lab-truth.jsonl)", result["inherent_s"], "", None),
            Row("wall ÷ inherent", goal["value"], goal["goal"], goal["met"]),
            Row("comment posted -> verification started s", result["comment_to_started_s"], "", None),
        ],
    )
    print()
    print("largest stretches of the bot's own time (s after start: length s)")
    print_table(("from start s", "length s"), [(g["from_start_s"], g["s"]) for g in result["largest_gaps"]])


def main(argv: list[str] | None = None) -> int:
    return scenario_benchmark_main(__doc__ or "", measure, show, argv)


if __name__ == "__main__":
    sys.exit(main())
