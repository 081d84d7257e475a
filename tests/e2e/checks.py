"""What a user checks after a verification on the lab: the verdict per scenario, and for each failed scenario the
check run, the pull-request comment and JIRA naming the failed criterion with observed vs threshold; measurements
compared with lab-truth.jsonl."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.reporting.escape import jira_text, md_text
from bot.texts import reports as texts

from .harness import Verdict, World, running_world

CHECK_CONCLUSION = {"passed": "success", "failed": "failure"}
ALL = ("normal-deploy", "concurrency", "failover", "rollback", "monitoring")


class Outcome:
    """One verification on a lab started with some faults: what the user saw and the bot's report."""

    def __init__(self, world: World, text: str) -> None:
        self.world = world
        self.before_comment = max((int(c["id"]) for c in world.issue_comments()), default=0)
        began = time.monotonic()
        self.verdict: Verdict = world.verify(text)
        self.seconds = time.monotonic() - began
        stored = world.latest_verification()
        assert stored is not None
        self.report: dict[str, Any] = stored.to_report()
        print(f"lab {world.faults}: start {world.lab_start_s:.1f} s, verification {self.seconds:.1f} s")

    def check(self, expected: dict[str, set[str]]) -> None:
        assert_verdicts(self.world, self.verdict, self.report, expected, before_comment=self.before_comment)


@contextlib.contextmanager
def outcome(tmp: Path, faults: tuple[str, ...], text: str) -> Iterator[Outcome]:
    with running_world(tmp, faults=faults) as world:
        yield Outcome(world, text)


def summary_rows(markdown: str) -> dict[str, list[str]]:
    """A check run's criteria table: description -> [observed, threshold, result]."""
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4:
            rows[cells[0]] = cells[1:]
    return rows


def assert_verdicts(
    world: World, verdict: Verdict, report: dict[str, Any], expected: dict[str, set[str]], *, before_comment: int
) -> None:
    """`expected`: scenario id -> the criteria that must fail (empty: the scenario passed). Exactly those."""
    scenarios = {s["id"]: s for s in report["scenarios"]}
    assert set(scenarios) == set(expected), f"ran {sorted(scenarios)}"
    # `passed` is None for a criterion that could not be evaluated (e.g. the duration of a rollback that never ran).
    observed = {sid: {c["id"] for c in s["criteria"] if c["passed"] is False} for sid, s in scenarios.items()}
    reasons = {sid: s["reason"] for sid, s in scenarios.items()}
    assert observed == expected, f"failed criteria {observed}, reasons {reasons}"
    for sid, failing in expected.items():
        conclusion = "failed" if failing else "passed"
        assert scenarios[sid]["conclusion"] == conclusion, f"{sid}: {scenarios[sid]['conclusion']} ({reasons[sid]})"
        assert verdict.scenario(sid)["conclusion"] == CHECK_CONCLUSION[conclusion]
    any_failed = any(expected.values())
    assert verdict.overall["conclusion"] == ("failure" if any_failed else "success")

    comments = world.bot_comments(since_id=before_comment)
    assert len(comments) == 1, f"{len(comments)} bot comments for one verification"
    comment = comments[0]["body"]
    assert report["verification_id"] in comment
    jira_last = world.jira_comments()[-1]
    assert report["verification_id"] in jira_last
    for sid, failing in expected.items():
        if failing:
            assert_failure_explained(verdict, scenarios[sid], failing, comment=comment, jira=jira_last)
    if any_failed:
        assert world.jira_status() != "In Review", "a failed verification must not await sign-off"
        assert texts.JIRA_FAILED_INTRO in jira_last


def assert_failure_explained(
    verdict: Verdict, scenario: dict[str, Any], failing: set[str], *, comment: str, jira: str
) -> None:
    """The check run's summary has a failing row per criterion with observed and threshold; the reason a person
    reads is in the check run, the PR comment's row for the scenario and JIRA's list of what failed."""
    run = verdict.scenario(scenario["id"])
    rows = summary_rows(run["output"]["summary"])
    reason = str(scenario["reason"] or "")
    assert reason, f"{scenario['id']} failed without a reason"
    for criterion in scenario["criteria"]:
        if criterion["id"] not in failing:
            continue
        observed, threshold, result = rows[criterion["description"]]
        assert "fail" in result.lower(), f"{criterion['id']}: {result}"
        assert observed and threshold, f"{criterion['id']}: observed {observed!r} threshold {threshold!r}"
        if isinstance(criterion["threshold"], int | float):
            assert f"{criterion['threshold']}" in threshold
    # Each report shows the reason escaped for its target (Markdown, Jira wiki markup), never raw.
    shown = md_text(reason)
    assert shown in run["output"]["summary"] + run["output"].get("text", "") or reason in run["output"]["title"]
    row = next(line for line in comment.splitlines() if line.startswith("| ") and f"| {scenario['title']} |" in line)
    assert "FAIL" in row and shown.split(":")[0] in row, row
    assert f"* {scenario['id']}: " in jira and jira_text(reason).split(":")[0] in jira


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00"))


def job_times(truth: list[dict[str, Any]], run_id: int, job: str) -> dict[str, datetime]:
    """queued / assigned / completed instants of a run's job, from lab-truth.jsonl."""
    times: dict[str, datetime] = {}
    for e in truth:
        if e.get("run_id") == run_id and e.get("job") == job:
            times.setdefault(str(e["event"]).removeprefix("job_"), at(e))
    return times


def run_created(truth: list[dict[str, Any]], run_id: int) -> datetime:
    return next(at(e) for e in truth if e["event"] == "run_created" and e["run_id"] == run_id)


def truth_measurements(truth: list[dict[str, Any]], scenario: dict[str, Any]) -> dict[str, float]:
    """What the scenario's measurements should be, from the lab's own record of its runs: the durations of its
    (first) deploying run, and for two runs how long their deploy jobs and the runs themselves overlapped (in
    whichever order they ran).
    A measurement whose events the lab never recorded (a job nobody took) is left out."""
    run_id = int(scenario["runs"][0]["run_id"])
    deploy = job_times(truth, run_id, "deploy")
    health = job_times(truth, run_id, "health-check")
    rollback = job_times(truth, run_id, "rollback")
    spans = {
        "deployment_duration_s": (deploy, "assigned", deploy, "completed"),
        "queue_s": (deploy, "queued", deploy, "assigned"),
        "failover_latency_s": ({"created": run_created(truth, run_id)}, "created", deploy, "assigned"),
        "health_check_s": (health, "assigned", health, "completed"),
        "rollback_s": (health, "completed", rollback, "completed"),
    }
    out = {
        name: (end[b] - start[a]).total_seconds()
        for name, (start, a, end, b) in spans.items()
        if a in start and b in end
    }
    if len(scenario["runs"]) == 2:
        one, two = (job_times(truth, int(r["run_id"]), "deploy") for r in scenario["runs"])
        if {"assigned", "completed"} <= set(one) & set(two):
            met = min(one["completed"], two["completed"]) - max(one["assigned"], two["assigned"])
            out["deploy_jobs_overlap_s"] = max(0.0, met.total_seconds())
        first, second = (run_span(truth, int(r["run_id"])) for r in scenario["runs"])
        if first is not None and second is not None:
            met = min(first[1], second[1]) - max(first[0], second[0])
            out["runs_overlap_s"] = max(0.0, met.total_seconds())
    return out


def run_span(truth: list[dict[str, Any]], run_id: int) -> tuple[datetime, datetime] | None:
    """A run's first job assigned -> its last job completed (None when the lab recorded neither)."""
    assigned = [at(e) for e in truth if e.get("run_id") == run_id and e["event"] == "job_assigned"]
    completed = [at(e) for e in truth if e.get("run_id") == run_id and e["event"] == "job_completed"]
    return (min(assigned), max(completed)) if assigned and completed else None


def assert_measurements_match_truth(world: World, report: dict[str, Any]) -> dict[str, dict[str, tuple[float, float]]]:
    """Every duration the bot measured is within 1 s of lab-truth.jsonl; returns {scenario: {name: (bot, truth)}}."""
    truth = world.truth()
    compared: dict[str, dict[str, tuple[float, float]]] = {}
    for scenario in report["scenarios"]:
        if not scenario["runs"]:
            continue
        expected = truth_measurements(truth, scenario)
        for name, value in scenario["measurements"].items():
            if name in expected:
                compared.setdefault(scenario["id"], {})[name] = (float(value), expected[name])
    assert compared, "no measurement to compare"
    off = {s: {n: v for n, v in m.items() if abs(v[0] - v[1]) > 1.0} for s, m in compared.items()}
    assert not any(off.values()), f"measurements more than 1 s from truth (bot, truth): {off}"
    return compared
