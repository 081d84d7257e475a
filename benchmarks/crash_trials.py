"""Crash trials: SIGKILL the bot in the middle of every scenario, restart it on the same database, and count faults
left in place (primary runner not online, backend not UP; goal 0) and verifications not concluded (goal 0).

    .venv/bin/python -m benchmarks.crash_trials [--trials 20] [--seed 1]

One lab for all trials. First each scenario runs once uncrashed, to learn how long it goes on after its trigger:
the fault in place for the scenarios that do harm (`runner_stopped`, `service_stopped` in lab-truth.jsonl), the
first `job_assigned` for the harmless ones. Then each trial (scenarios taken in turn) comments
`/verify-staging <scenario>`, waits for that trigger, kills the bot a random delay later (within 90 % of the
learned remaining time, so the kill lands before the verdict), restarts it, waits (bounded) for the overall check
run, then for the lab to be healthy. A kill mid-run ends in `cancelled`; whether it really came mid-run is
checked at the moment of the kill (the overall check run still in progress).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.report import machine, print_table
from tests.e2e.harness import OVERALL_CHECK, World, running_world
from tests.reliability.crash import HARM, crash, truth_since, wait_restored

SCENARIOS = ("normal-deploy", "concurrency", "failover", "rollback", "monitoring")
#: The truth event a harmless scenario's kill is timed from: its pipeline is under way.
STARTED = "job_assigned"
#: Kills are drawn within this share of the scenario's remaining time, clear of the verdict itself.
WINDOW = 0.9


def trigger(scenario: str) -> str:
    return HARM.get(scenario, STARTED)


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["at"])).timestamp()


def _first(events: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((e for e in events if e["event"] == name), None)


def fault_in_place(scenario: str, events: list[dict[str, Any]]) -> bool:
    """The scenario's fault was injected and not yet undone (its `*_stopped` without a later `*_started`)."""
    harm = HARM.get(scenario)
    if harm is None:
        return False
    stops = [i for i, e in enumerate(events) if e["event"] == harm]
    restarted = harm.replace("_stopped", "_started")
    return bool(stops) and not any(e["event"] == restarted for e in events[stops[0] :])


def remaining_after_trigger(world: World, scenario: str) -> float:
    """One uncrashed run: seconds from the scenario's trigger to its verdict."""
    start = len(world.truth())
    before = max((int(r["id"]) for r in world.check_runs()), default=0)
    world.comment(f"/verify-staging {scenario}")
    world.wait_verdict(after_id=before)
    done = time.time()
    event = _first(truth_since(world, start), trigger(scenario))
    assert event is not None, f"{scenario}: no {trigger(scenario)} in the lab's truth"
    return done - _at(event)


def in_progress(world: World, after_id: int) -> bool:
    overall = [r for r in world.check_runs() if int(r["id"]) > after_id and r["name"] == OVERALL_CHECK]
    return bool(overall) and overall[0]["status"] != "completed"


@dataclass
class KillPoint:
    """Kill `delay` s after the scenario's trigger; what was true at that moment is noted for the report."""

    world: World
    scenario: str
    delay: float
    after_check: int
    mid_run: bool = False
    with_fault: bool = False

    def __call__(self, events: list[dict[str, Any]], _elapsed: float) -> bool:
        event = _first(events, trigger(self.scenario))
        if event is None or time.time() < _at(event) + self.delay:
            return False
        self.mid_run = in_progress(self.world, self.after_check)
        self.with_fault = fault_in_place(self.scenario, events)
        return True


#: What is counted over the trials, in the order of the table printed at the end, with its column header.
COLUMNS = {
    "trials": "trials",
    "mid_run": "killed mid-run",
    "with_fault": "fault in place",
    "faults_left": "faults left",
    "not_concluded": "not concluded",
    "cancelled": "cancelled",
}
Tally = Counter[str]


def row(name: str, tally: Tally) -> list[object]:
    return [name, *(tally[column] for column in COLUMNS)]


def run_trial(world: World, scenario: str, delay: float, tally: Tally) -> str:
    """One kill and restart, counted into `tally`; a line for the log."""
    after_check = max((int(r["id"]) for r in world.check_runs()), default=0)
    point = KillPoint(world, scenario, delay, after_check)
    result = crash(world, scenario, kill_when=point)
    left = wait_restored(world)
    conclusion = str(result.verdict.overall["conclusion"]) if result.verdict else "not concluded"
    counted = {
        "trials": True,
        "mid_run": point.mid_run,
        "with_fault": point.with_fault,
        "faults_left": bool(left),
        "not_concluded": result.verdict is None,
        "cancelled": conclusion == "cancelled",
    }
    tally.update({column: int(happened) for column, happened in counted.items()})
    return (
        f"{scenario:13s} kill {delay:4.1f} s after {trigger(scenario):15s} "
        f"mid-run {'yes' if point.mid_run else 'NO '} fault {'in place' if point.with_fault else '-       '} "
        f"-> {conclusion:13s} left {left or '-'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tallies = {s: Tally() for s in SCENARIOS}
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, running_world(Path(tmp)) as world:
        remaining = {s: remaining_after_trigger(world, s) for s in SCENARIOS}
        for s in SCENARIOS:
            print(f"{s:13s} runs {remaining[s]:4.1f} s after its {trigger(s)}", flush=True)
        for trial in range(args.trials):
            scenario = SCENARIOS[trial % len(SCENARIOS)]
            delay = rng.uniform(0.0, WINDOW * remaining[scenario])
            print(f"trial {trial + 1:2d} {run_trial(world, scenario, delay, tallies[scenario])}", flush=True)
    total = sum(tallies.values(), Tally())
    print()
    print(f"{args.trials} trials in {time.monotonic() - began:.0f} s, seed {args.seed}, {machine()}")
    print_table(["scenario", *COLUMNS.values()], [*(row(s, t) for s, t in tallies.items()), row("all", total)])
    print(f"faults left in place: {total['faults_left']} (goal 0)")
    print(f"verifications not concluded: {total['not_concluded']} (goal 0)")


if __name__ == "__main__":
    main()
