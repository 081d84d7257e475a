"""GitHub API economy: the REST requests one full five-scenario verification costs, by the part of the bot that sent
them, and how many of them were reconciliation polls (asking the REST API for what a webhook should have said).

Counted on both sides: the bot's own count (`github_api_calls` in its record of the verification: every request
sent for it, retries included, from command handling to the last report) and the simulated GitHub's log of the
requests it answered with the App's credentials between the comment and the bot's last report. The runner poller
keeps the runner gauges current whether or not a verification runs, so it is not part of a verification: its
rate is measured over a quiet window before the comment and subtracted from the lab's count as an estimate.

    .venv/bin/python -m benchmarks.api_economy [--fault webhook-loss] [--json]

Goals: <= 60 requests per verification; zero reconciliation polls when no webhook is lost.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._lab import command, lab_requests, one_verification, running_world
from benchmarks.report import Row, machine, print_table

GOAL_CALLS = 60
QUIET_WINDOW_S = 6.0
PARTS = ("command", "token", "engine", "reconciliation", "runners", "check runs", "comment")


def measure(*, faults: tuple[str, ...], quiet_window: float = QUIET_WINDOW_S, scenarios: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp, running_world(Path(tmp), faults=faults) as world:
        quiet_from = time.time()
        time.sleep(quiet_window)  # a measuring window for the background rate, not a wait for a condition
        background = lab_requests(world, since=quiet_from, until=time.time())
        poll_rate = len(background) / quiet_window
        run = one_verification(world, command(scenarios))
    window = run.finished_at - run.commented_at
    parts = run.parts()
    poller_estimate = round(poll_rate * window)
    lab_total = len(run.requests)
    bot_total = run.verification.github_api_calls
    reconciliation = run.reconcile_polls()
    lost = sum(1 for e in run.truth if e["event"] == "webhook_dropped" and _after(e, run.commented_at))
    no_loss = not faults
    return {
        "benchmark": "api_economy",
        "machine": machine(),
        "faults": list(faults),
        "conclusions": run.verdict.conclusions(),
        "window_s": round(window, 1),
        "lab_requests_by_part": {p: parts.get(p, 0) for p in PARTS},
        "lab_total": lab_total,
        "runner_poller_per_s": round(poll_rate, 2),
        "runner_poller_in_window_estimate": poller_estimate,
        "lab_total_less_poller": lab_total - poller_estimate,
        "bot_count": bot_total,
        "webhooks_dropped": lost,
        "reconciliation_polls": reconciliation,
        "reconciliation_requests": parts.get("reconciliation", 0),
        "lab_requests_by_route": dict(sorted(run.routes().items())),
        "reconciliation_at": [
            {"s": round(r.at - run.commented_at, 2), "scenario": run.scenario_at(r.at), "route": r.route}
            for r in run.requests
            if r.part == "reconciliation" or r.route.endswith("/runs/{run_id}")
        ],
        "goals": {
            "requests": {"goal": f"<= {GOAL_CALLS}", "value": bot_total, "met": bot_total <= GOAL_CALLS},
            "reconciliation": {
                "goal": "0 when no webhook is lost" if no_loss else "(webhooks lost: any)",
                "value": reconciliation,
                "met": reconciliation == 0 if no_loss else None,
            },
        },
    }


def _after(event: dict[str, Any], since: float) -> bool:
    from benchmarks._lab import truth_time

    return truth_time(event) >= since


def show(result: dict[str, Any]) -> None:
    faults = ", ".join(result["faults"]) or "none"
    print(f"GitHub REST requests for one five-scenario verification (fault: {faults})")
    print(f"scenario conclusions: {result['conclusions']}")
    print_table(
        ("sent by", "requests (simulated GitHub's log)"),
        [(p, n) for p, n in result["lab_requests_by_part"].items()],
    )
    print()
    goals = result["goals"]
    print_table(
        ("measure", "value", "goal", "met"),
        [
            Row(
                "requests, the bot's own count",
                result["bot_count"],
                goals["requests"]["goal"],
                goals["requests"]["met"],
            ),
            Row(
                "requests, GitHub's log less the runner poller", result["lab_total_less_poller"], "≈ bot's count", None
            ),
            Row(
                "reconciliation polls",
                goals["reconciliation"]["value"],
                goals["reconciliation"]["goal"],
                goals["reconciliation"]["met"],
            ),
            Row("webhooks the lab dropped", result["webhooks_dropped"], "", None),
            Row("runner poller, requests/s (background)", result["runner_poller_per_s"], "", None),
            Row("verification window, s", result["window_s"], "", None),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help="a lab fault (repeatable)")
    parser.add_argument("--quiet-window", type=float, default=QUIET_WINDOW_S, help="seconds to measure the poller")
    parser.add_argument("--scenarios", default="", help="comma-separated scenario ids (default: all five)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(faults=tuple(args.fault), quiet_window=args.quiet_window, scenarios=args.scenarios)
    print(json.dumps(result, indent=2)) if args.json else show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
