"""Accuracy: |measured - truth| for every duration the bot reports on a healthy five-scenario verification.

The bot's numbers come from its record of the verification (what verification.json holds: each scenario's
`measurements` and the durations its criteria observed); the truth comes from lab-truth.jsonl, written by the lab
at the moment each thing happened (milliseconds). The pairs:

| bot's duration | truth |
|---|---|
| `deployment_duration_s` | the scenario run's deploy job: `job_assigned` -> `job_completed` |
| `queue_s` | that deploy job: `job_queued` -> `job_assigned` |
| `health_check_s` | the health-check job: `job_assigned` -> `job_completed` |
| `deploy_jobs_overlap_s` (concurrency) | overlap of the two runs' deploy jobs, each `job_assigned` -> `job_completed` |
| `failover_latency_s` | the failover run: `run_created` -> its deploy job's `job_assigned` |
| `rollback_s` | health-check `job_completed` -> rollback `job_completed` |
| criterion `primary-offline` | primary `runner_stopped` -> `runner_offline` (0 when the session ended first) |
| criterion `primary-restored` | primary `runner_started` -> `runner_online` |
| `alert_fire_s` | primary `runner_stopped` -> RunnerOffline `alert_fired` |
| `notification_s` | RunnerOffline `alert_fired` -> its firing `notification_delivered` |

GitHub's timestamps are whole seconds, so a job-based duration can be off by up to 1 s. Goal: every error <= 1 s.

    .venv/bin/python -m benchmarks.accuracy [--json]
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks._lab import command, one_verification, running_world
from benchmarks.report import machine, print_table, scenario_benchmark_main
from benchmarks.truth import Event, at
from bot.serialize import verification_to_json
from tests.e2e.harness import World

GOAL_S = 1.0


def _job(events: Sequence[Event], run_id: int, name: str, kind: str) -> float | None:
    found = [at(e) for e in events if e["event"] == kind and e.get("run_id") == run_id and e.get("job") == name]
    return found[-1] if found else None


def _job_queued(events: Sequence[Event], run_id: int, name: str) -> float | None:
    ids = {e["job_id"] for e in events if e["event"] == "job_assigned" and e["run_id"] == run_id and e["job"] == name}
    found = [at(e) for e in events if e["event"] == "job_queued" and e.get("job_id") in ids]
    return found[0] if found else None


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def _first(events: Sequence[Event], kind: str, after: float, **match: object) -> float | None:
    found = [
        at(e) for e in events if e["event"] == kind and at(e) >= after and all(e.get(k) == v for k, v in match.items())
    ]
    return found[0] if found else None


def truths(scenario: dict[str, Any], events: Sequence[Event], primary: str) -> dict[str, float | None]:
    """Truth for each duration this scenario reports."""
    runs = [r["run_id"] for r in scenario.get("runs") or []]
    sid = scenario["id"]
    out: dict[str, float | None] = {}
    if sid in ("normal-deploy", "failover", "rollback") and runs:
        run = runs[-1]
        deploy = (_job(events, run, "deploy", "job_assigned"), _job(events, run, "deploy", "job_completed"))
        health = (_job(events, run, "health-check", "job_assigned"), _job(events, run, "health-check", "job_completed"))
        out["deployment_duration_s"] = _span(*deploy)
        out["queue_s"] = _span(_job_queued(events, run, "deploy"), deploy[0])
        out["health_check_s"] = _span(*health)
        created = next((at(e) for e in events if e["event"] == "run_created" and e["run_id"] == run), None)
        out["failover_latency_s"] = _span(created, deploy[0])
        out["rollback_s"] = _span(health[1], _job(events, run, "rollback", "job_completed"))
    if sid == "concurrency" and len(runs) == 2:
        spans = [(_job(events, r, "deploy", "job_assigned"), _job(events, r, "deploy", "job_completed")) for r in runs]
        (a0, a1), (b0, b1) = spans
        if a0 is not None and a1 is not None and b0 is not None and b1 is not None:
            out["deploy_jobs_overlap_s"] = max(0.0, min(a1, b1) - max(a0, b0))
    started = float(at({"at": scenario["started_at"]}))
    stopped = _first(events, "runner_stopped", started, runner=primary)
    if sid == "failover" and stopped is not None:
        offline = _first(events, "runner_offline", started, runner=primary)
        out["primary-offline"] = max(0.0, offline - stopped) if offline is not None else None
        restarted = _first(events, "runner_started", stopped, runner=primary)
        out["primary-restored"] = _span(
            restarted, _first(events, "runner_online", restarted or stopped, runner=primary)
        )
    if sid == "monitoring" and stopped is not None:
        fired = _first(events, "alert_fired", stopped, alertname="RunnerOffline")
        out["alert_fire_s"] = _span(stopped, fired)
        notified = [
            at(e)
            for e in events
            if e["event"] == "notification_delivered"
            and e.get("status") == "firing"
            and "RunnerOffline" in (e.get("alertnames") or [])
            and fired is not None
            and at(e) >= fired
        ]
        out["notification_s"] = _span(fired, notified[0] if notified else None)
    return out


def measured(scenario: dict[str, Any]) -> dict[str, float]:
    found = {k: float(v) for k, v in (scenario.get("measurements") or {}).items() if isinstance(v, int | float)}
    for criterion in scenario.get("criteria") or []:
        observed = criterion["observed"]
        if criterion["id"] in ("primary-offline", "primary-restored") and isinstance(observed, int | float):
            found[criterion["id"]] = float(observed)
    return found


def measure(*, scenarios: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp, running_world(Path(tmp)) as world:
        run = one_verification(world, command(scenarios))
        primary = next(str(r["name"]) for r in _runners(world) if r["role"] == "primary")
    document = json.loads(verification_to_json(run.verification))
    rows = []
    for scenario in document["scenarios"]:
        truth = truths(scenario, run.truth, primary)
        for name, value in measured(scenario).items():
            real = truth.get(name)
            error = None if real is None else abs(value - real)
            rows.append(
                {
                    "scenario": scenario["id"],
                    "duration": name,
                    "measured_s": round(value, 3),
                    "truth_s": None if real is None else round(real, 3),
                    "error_s": None if error is None else round(error, 3),
                    "met": None if error is None else error <= GOAL_S,
                }
            )
    errors = [r["error_s"] for r in rows if r["error_s"] is not None]
    worst = max(errors, default=0.0)
    return {
        "benchmark": "accuracy",
        "machine": machine(),
        "conclusions": run.verdict.conclusions(),
        "durations": rows,
        "goals": {"max_error_s": {"goal": f"<= {GOAL_S:g}", "value": worst, "met": bool(errors) and worst <= GOAL_S}},
    }


def _runners(world: World) -> list[dict[str, Any]]:
    settings = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
    return [r for env in settings["environments"].values() for r in env["runners"]]


def show(result: dict[str, Any]) -> None:
    print("reported durations against lab-truth.jsonl (healthy lab, five scenarios)")
    print(f"scenario conclusions: {result['conclusions']}")
    print_table(
        ("scenario", "duration", "measured s", "truth s", "|error| s", "goal", "met"),
        [
            (r["scenario"], r["duration"], r["measured_s"], r["truth_s"], r["error_s"], f"<= {GOAL_S:g}", r["met"])
            for r in result["durations"]
        ],
    )
    goal = result["goals"]["max_error_s"]
    print(f"\nlargest error: {goal['value']} s (goal {goal['goal']} s) met: {'yes' if goal['met'] else 'NO'}")


def main(argv: list[str] | None = None) -> int:
    return scenario_benchmark_main(__doc__ or "", measure, show, argv)


if __name__ == "__main__":
    sys.exit(main())
