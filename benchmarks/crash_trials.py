"""Crash trials: SIGKILL the bot at random points of every scenario, restart it on the same database, and count
faults left in place (primary runner not online, backend not UP; goal 0) and verifications not concluded (goal 0).

    .venv/bin/python -m benchmarks.crash_trials [--trials 20] [--seed 1]

One lab for all trials. Each trial comments `/verify-staging <scenario>` (scenarios taken in turn), kills the bot
a random 0.5-15 s later, restarts it, waits (bounded) for the overall check run, then for the lab to be healthy.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from tests.e2e.harness import running_world
from tests.reliability.crash import after, crash, wait_restored

SCENARIOS = ("normal-deploy", "concurrency", "failover", "rollback", "monitoring")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    faults_left = not_concluded = 0
    conclusions: dict[str, int] = {}
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, running_world(Path(tmp)) as world:
        for trial in range(args.trials):
            scenario = SCENARIOS[trial % len(SCENARIOS)]
            delay = rng.uniform(0.5, 15.0)
            result = crash(world, scenario, kill_when=after(delay))
            left = wait_restored(world)
            concluded = result.verdict is not None
            conclusion = str(result.verdict.overall["conclusion"]) if result.verdict else "not concluded"
            conclusions[conclusion] = conclusions.get(conclusion, 0) + 1
            faults_left += bool(left)
            not_concluded += not concluded
            print(f"trial {trial + 1:2d} {scenario:13s} kill after {delay:4.1f} s: {conclusion:13s} left {left or '-'}")
    print(f"trials: {args.trials} in {time.monotonic() - began:.0f} s; conclusions: {conclusions}")
    print(f"faults left in place: {faults_left} (goal 0)")
    print(f"verifications not concluded: {not_concluded} (goal 0)")


if __name__ == "__main__":
    main()
