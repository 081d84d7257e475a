"""Each benchmark runs with tiny parameters and prints its numbers with their goals (not that it meets them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks._lab import classify, command
from benchmarks.truth import inherent_intervals, union_length

ROOT = Path(__file__).resolve().parents[2]


def run(module: str, *args: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def run_json(module: str, *args: str, timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run(module, *args, "--json", timeout=timeout))
    return result


def test_ingest_prints_rates_latencies_and_the_ratio() -> None:
    out = run("ingest", "--count", "40", "--rate", "200", "--concurrency", "4", timeout=120)
    assert "bot ÷ bare deliveries/s (max)" in out
    assert ">= 0.7" in out and "< 25" in out
    rows = [line.split() for line in out.splitlines()]
    for server in ("bare", "bot"):
        assert [server, "paced", "200/s", "40"] in [row[:4] for row in rows]


def test_ingest_json_has_both_servers_and_no_refused_delivery() -> None:
    result = run_json("ingest", "--count", "30", "--concurrency", "4", timeout=120)
    loads = {(x["server"], x["mode"].split()[0]) for x in result["loads"]}
    assert loads == {("bare", "paced"), ("bare", "max,"), ("bot", "paced"), ("bot", "max,")}
    assert all(x["deliveries"] == 30 and x["errors"] == 0 for x in result["loads"])
    assert result["ratio"] > 0


def test_startup_prints_time_to_healthz_and_memory() -> None:
    result = run_json("startup", "--starts", "1", "--deliveries", "50", timeout=120)
    assert 0 < result["goals"]["startup_s"]["value"] < 30
    assert result["rss_after_mib"] > 10
    assert result["delivery_errors"] == 0


def test_union_counts_overlapping_waits_once() -> None:
    assert union_length([(0, 2), (1, 3), (5, 6)]) == 4
    assert union_length([]) == 0


def test_inherent_intervals_pair_runs_outages_and_notifications() -> None:
    def ev(t: float, event: str, **fields: Any) -> dict[str, Any]:
        return {"at": f"2030-01-01T00:00:{t:06.3f}Z", "event": event, **fields}

    events = [
        ev(1, "run_created", run_id=1),
        ev(3, "run_completed", run_id=1),
        ev(4, "runner_stopped", runner="r1"),
        ev(4.1, "runner_offline", runner="r1"),
        ev(
            9,
            "notification_delivered",
            alerts=[{"labels": {"alertname": "RunnerOffline", "runner": "r1"}, "status": "firing"}],
        ),
        ev(10, "runner_online", runner="r1"),
    ]
    found = {what: round(end - start, 3) for what, start, end in inherent_intervals(events)}
    assert found == {"run 1": 2.0, "r1 outage": 6.0, "RunnerOffline firing": 5.0}


def test_requests_are_attributed_to_the_part_that_sends_them() -> None:
    repo = "/repos/{owner}/{repo}"
    assert classify("POST", "/app/installations/{installation_id}/access_tokens") == "token"
    assert classify("PATCH", repo + "/check-runs/{check_run_id}") == "check runs"
    assert classify("PATCH", repo + "/issues/comments/{comment_id}") == "comment"
    assert classify("GET", repo + "/collaborators/{username}/permission") == "command"
    assert classify("GET", repo + "/actions/runs/{run_id}/jobs") == "reconciliation"
    assert classify("POST", repo + "/actions/workflows/{workflow}/dispatches") == "engine"
    assert command("normal-deploy") == "/verify-staging normal-deploy"


@pytest.mark.lab
def test_lab_benchmarks_print_their_numbers_for_one_scenario() -> None:
    """One lab run each would be slow; one scenario is enough to show the numbers come out."""
    economy = run_json("api_economy", "--scenarios", "normal-deploy", "--quiet-window", "1", timeout=300)
    assert economy["conclusions"] == {"normal-deploy": "success"}
    assert economy["bot_count"] > 0 and economy["lab_total"] >= economy["bot_count"] - 2
    overhead = run("overhead", "--scenarios", "normal-deploy", timeout=300)
    assert "wall ÷ inherent" in overhead and "<= 1.10" in overhead
    accuracy = run_json("accuracy", "--scenarios", "normal-deploy", timeout=300)
    names = {row["duration"] for row in accuracy["durations"]}
    assert "deployment_duration_s" in names
    assert all(row["truth_s"] is not None for row in accuracy["durations"])
