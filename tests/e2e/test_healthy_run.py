"""A healthy staging world, end to end: all five scenarios pass, the measurements equal the lab's truth, staging is
left as it was found, the report is valid, JIRA moved To Do -> In Progress -> In Review, the bot exported the
per-runner deployment metrics, every REST call stayed within app.yml, and an SRE signs off."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from jira import JIRA

from bot.texts import reports as texts
from lab.monitoring import AlertWatcher, parse_duration
from tests.paths import REPORT_SCHEMA
from tests.support.openapi import response_schemas
from tests.support.texts import pattern
from tests.support.wait import wait_for

from .checks import ALL, Outcome, assert_measurements_match_truth, outcome
from .harness import World

pytestmark = pytest.mark.lab

ALERT_WATCH_INTERVAL = AlertWatcher.interval  # how often the lab records the alerts firing in its truth log


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    with outcome(tmp_path_factory.mktemp("healthy"), (), "/verify-staging") as result:
        yield result


def test_all_five_pass(healthy: Outcome) -> None:
    healthy.check({sid: set() for sid in ALL})


def test_measured_durations_are_within_a_second_of_the_truth(healthy: Outcome) -> None:
    compared = assert_measurements_match_truth(healthy.world, healthy.report)
    assert {"deployment_duration_s", "queue_s", "health_check_s"} <= set(compared["normal-deploy"])
    assert "failover_latency_s" in compared["failover"]
    assert {"rollback_s", "health_check_s"} <= set(compared["rollback"])


def test_every_restoration_worked_and_staging_is_up_afterwards(healthy: Outcome) -> None:
    world, report = healthy.world, healthy.report
    restorations = report["restorations"]
    assert {r["host"] for r in restorations} == {"production-runner-01", "staging-backend-host"}
    assert all(r["ok"] and r["restored_at"] and not r["after_restart"] for r in restorations), restorations
    assert {name: r["status"] for name, r in world.runners().items()} == {
        "production-runner-01": "online",
        "production-runner-02": "online",
    }
    truth = world.truth()
    stopped = Counter(
        e.get("runner") or e.get("service") for e in truth if e["event"] in ("runner_stopped", "service_stopped")
    )
    started = Counter(
        e.get("runner") or e.get("service") for e in truth if e["event"] in ("runner_started", "service_started")
    )
    for thing, stops in stopped.items():
        assert started[thing] == stops + 1, f"{thing}: started {started[thing]} times, stopped {stops}"
    assert any(e["event"] == "version_restored" for e in truth)


def test_the_measurements_are_kept_in_the_history(healthy: Outcome) -> None:
    """Issue 15 §2: the real engine and reporters keep every measurement of the finished verification, as reported,
    for the history command, the history page and regression baselines."""
    report = healthy.report
    reported = {(s["id"], name, value) for s in report["scenarios"] for name, value in s["measurements"].items()}

    def kept() -> set[tuple[str, str, float | None]] | None:
        # The history is written by the last reporter, just after the final PR comment the verdict was read from.
        points = healthy.world.measurement_history(report["environment"])
        mine = {(p.scenario, p.measurement, p.value) for p in points if p.verification_id == report["verification_id"]}
        return mine or None

    assert wait_for(kept, timeout=30, what="the verification's measurements in the history") == reported
    assert {"failover_latency_s", "rollback_s", "alert_fire_s", "notification_s"} <= {m for _, m, _ in reported}


def test_the_report_validates_against_the_contract_schema(healthy: Outcome) -> None:
    path = REPORT_SCHEMA
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(healthy.report, schema)
    assert healthy.report["conclusion"] == "success"
    assert [s["id"] for s in healthy.report["scenarios"]] == list(ALL)


def test_the_comment_holds_the_results_form_and_a_mermaid_gantt(healthy: Outcome) -> None:
    [comment] = healthy.world.bot_comments(since_id=healthy.before_comment)
    body = comment["body"]
    for n in range(1, 6):
        assert re.search(rf"\[x\] Test {n}: .* - PASS", body), f"Test {n} not PASS"
    gantt = re.search(r"```mermaid\n(gantt\n.*?)```", body, re.S)
    assert gantt is not None, "no Mermaid gantt block"
    assert "section production-runner-01" in gantt.group(1)
    assert "section production-runner-02" in gantt.group(1)


def test_jira_moved_to_do_in_progress_in_review(healthy: Outcome) -> None:
    world = healthy.world
    issue = world.jira(f"/issue/{world.state['jira_issue']}?expand=changelog")
    moves = [
        (item["fromString"], item["toString"])
        for history in issue["changelog"]["histories"]
        for item in history["items"]
        if item["field"] == "status"
    ]
    assert moves[:2] == [("To Do", "In Progress"), ("In Progress", "In Review")]
    assert texts.JIRA_ALL_PASSED in world.jira_comments()[-1]


def test_the_jira_issue_holds_the_report_files_linked_from_the_results(healthy: Outcome) -> None:
    """Issue 13 §3, read with the `jira` library as anyone with access to the issue would."""
    world = healthy.world
    vid = healthy.report["verification_id"]
    files = ("report.md", "verification.json", "timeline.svg", "timeline.png")
    names = [f"verify-staging-{vid}-{name}" for name in files]
    jira = JIRA(server=str(world.state["jira_url"]), token_auth=str(world.state["jira_token"]))
    key = str(world.state["jira_issue"])

    def attached() -> dict[str, Any] | None:
        found = {a.filename: a for a in jira.issue(key, fields="attachment").fields.attachment}
        return found if set(names) <= set(found) else None

    # The files go up after the PR comment, so shortly after the verdict.
    found = wait_for(attached, timeout=30, what="the report files on the JIRA issue")
    [comment] = world.bot_comments(since_id=healthy.before_comment)
    assert found[names[0]].get().decode("utf-8") == comment["body"]
    document = json.loads(found[names[1]].get())
    jsonschema.validate(document, json.loads(REPORT_SCHEMA.read_text(encoding="utf-8")))
    assert document["verification_id"] == vid and document["conclusion"] == "success"
    svg, png = found[names[2]].get(), found[names[3]].get()
    assert svg.lstrip().startswith((b"<?xml", b"<svg")) and b"production-runner-01" in svg
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and found[names[3]].mimeType == "image/png"
    results = next(c for c in world.jira_comments() if texts.JIRA_ALL_PASSED in c and vid in c)
    assert all(f"[^{n}]" in results for n in names), results


def test_metrics_count_every_deploy_job_per_runner(healthy: Outcome) -> None:
    """Issue 7: the bot's per-runner deployment duration and queue time histograms match lab-truth.jsonl."""
    world = healthy.world
    truth = world.truth()
    deploy_jobs = {e["job_id"]: e["runner"] for e in truth if e["event"] == "job_assigned" and e["job"] == "deploy"}
    completed = {e["job_id"] for e in truth if e["event"] == "job_completed" and e["job"] == "deploy"}
    expected = Counter(runner for job_id, runner in deploy_jobs.items() if job_id in completed)
    assert set(expected) == {"production-runner-01", "production-runner-02"}

    def counts(metric: str) -> Counter[str]:
        found: Counter[str] = Counter()
        pattern = re.compile(rf"^{metric}_count{{(?P<labels>[^}}]*)}} (?P<value>\S+)$", re.M)
        for m in pattern.finditer(world.metrics()):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group("labels")))
            if labels["job"] == "deploy" and labels["repository"] == world.repository:
                found[labels["runner"]] += int(float(m.group("value")))
        return found

    def both_match() -> bool:
        return all(
            counts(m) == expected
            for m in ("verify_staging_deployment_duration_seconds", "verify_staging_job_queue_seconds")
        )

    wait_for(both_match, timeout=20, what=f"the duration and queue histograms to count {dict(expected)} deploy jobs")


def alert_deadline(world: World, alerts: set[str]) -> float:
    """Seconds within which an alert whose condition already holds has fired and been delivered, from the lab's
    generated configs: its scaled `for:`, plus twice (headroom for a loaded machine) the rest: two scrapes and
    evaluations to see the condition and fire, Alertmanager's group_wait and group_interval, the truth watcher."""
    monitoring = Path(str(world.state["workdir"])) / "monitoring"
    rules = yaml.safe_load((monitoring / "alerts.yml").read_text(encoding="utf-8"))
    prometheus = yaml.safe_load((monitoring / "prometheus.yml").read_text(encoding="utf-8"))["global"]
    route = yaml.safe_load((monitoring / "alertmanager.yml").read_text(encoding="utf-8"))["route"]
    longest_for = max(
        parse_duration(str(rule.get("for", "0s")))
        for group in rules["groups"]
        for rule in group["rules"]
        if rule.get("alert") in alerts
    )
    scrape, evaluation = (parse_duration(prometheus[k]) for k in ("scrape_interval", "evaluation_interval"))
    notify = parse_duration(route["group_wait"]) + parse_duration(route["group_interval"])
    detect = 2 * (scrape + evaluation)
    return longest_for + 2 * (detect + notify + ALERT_WATCH_INTERVAL)


def test_the_teams_alerts_fire_for_their_conditions_and_stay_silent_otherwise(healthy: Outcome) -> None:
    # deploy/prometheus/alerts.yml in the lab's real Prometheus, fed by the bot's /metrics: the run's rollback
    # scenario fails a health check on the primary, and the monitoring scenario stops the primary past `for:`.
    # Nothing else went wrong (every deploy succeeded, no rollback failed, no runner pair was down, nothing was
    # slow), so no other rule may fire; failover's short stop stays under RunnerOffline's `for:` too.
    world = healthy.world
    expected = {("HealthCheckFailed", "production-runner-01"), ("RunnerOffline", "production-runner-01")}
    names = {name for name, _ in expected}

    def before_the_bot(event: dict[str, Any]) -> bool:
        # The lab's Prometheus scrapes the bot's address from the lab's start, and the bot starts after the lab: a
        # slow start keeps `up == 0` past VerifyStagingDown's scaled `for:` (6 s). That alert is true, but about the
        # time before the bot existed, not an effect of the verification.
        return event["alertname"] == "VerifyStagingDown" and active_at(event) < (world.bot_up_at or 0)

    def fired() -> set[tuple[str, str | None]]:
        return {
            (e["alertname"], e["labels"].get("runner"))
            for e in world.truth()
            if e["event"] == "alert_fired" and not before_the_bot(e)
        }

    def notified() -> set[str]:
        return {n for e in world.truth() if e["event"] == "notification_delivered" for n in e["alertnames"]}

    # The verification ends when its conditions were met; the alerts they cause may still be on their way.
    wait_for(
        lambda: expected <= fired() and names <= notified(),
        timeout=alert_deadline(world, names),
        what=f"{sorted(names)} to fire and be delivered",
    )
    assert fired() == expected
    truth = world.truth()
    health = next(e for e in truth if e["event"] == "alert_fired" and e["alertname"] == "HealthCheckFailed")
    assert health["labels"]["job"] == "health-check"
    assert notified() == names
    assert all(e["receiver"] == "oncall-sre" for e in truth if e["event"] == "notification_delivered")


def test_every_rest_call_of_the_bot_was_allowed_by_the_manifest(healthy: Outcome) -> None:
    """Issue 8: the simulated GitHub grants the installation exactly app.yml's permissions and records refusals."""
    refused = [e for e in healthy.world.truth() if e["event"] == "rest_forbidden" and e["principal"] == "installation"]
    assert refused == []
    assert healthy.report["github_api_calls"] > 0


def test_sre_signoff_is_refused_to_others_and_approves_for_the_sre(healthy: Outcome) -> None:
    world = healthy.world
    state = world.state
    last = max(int(c["id"]) for c in world.issue_comments())
    world.comment("/sre-signoff approve looks good", user=state["unauthorized_user"])
    refusal = wait_for(lambda: world.bot_comments(since_id=last), timeout=30, what="a refusal")
    assert pattern(texts.SIGNOFF_NOT_MEMBER, user=state["unauthorized_user"]).fullmatch(refusal[0]["body"])
    assert world.jira_status() == "In Review"

    last = max(int(c["id"]) for c in world.issue_comments())
    world.comment("/sre-signoff approve looks good", user=state["sre_user"])
    wait_for(lambda: world.jira_status() == "Done", timeout=30, what="JIRA Done")
    form = wait_for(lambda: world.bot_comments(since_id=last), timeout=30, what="the sign-off form")[0]["body"]
    assert "## SRE sign-off: APPROVED" in form
    assert f"SRE Engineer: {state['sre_user']}" in form and "looks good" in form
    assert "[x] APPROVED" in form
    jira_form = world.jira_comments()[-1]
    assert "SRE sign-off: APPROVED" in jira_form and state["sre_user"] in jira_form


def test_every_github_answer_the_bot_received_is_as_github_documents_it(healthy: Outcome) -> None:
    """Issue 14 §7: every request of the run was a documented operation (else the lab answered 422 and recorded it),
    and every answer the App got validates against the response schema GitHub's OpenAPI description gives for its
    operation and status (placed after the sign-off test, so its requests are in too)."""
    world = healthy.world
    assert [e for e in world.truth() if e["event"] == "undocumented_request"] == []
    answers = [a for a in world.github_answers() if a["principal"] in ("app", "installation")]
    operations = {(a["method"], a["operation"]) for a in answers}
    assert {
        ("POST", "/app/installations/{installation_id}/access_tokens"),
        ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
        ("POST", "/repos/{owner}/{repo}/check-runs"),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    } <= operations, sorted(operations)
    schemas = response_schemas()
    problems = [problem for answer in answers for problem in schemas.problems(answer)]
    assert problems == [], "\n".join(problems[:40])


def active_at(alert_fired: dict[str, Any]) -> float:
    """Prometheus' `activeAt` (RFC 3339, up to nanoseconds) as a Unix time."""
    found = re.fullmatch(r"(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", str(alert_fired["active_at"]))
    assert found is not None, alert_fired
    whole, fraction, zone = found.groups()
    stamp = f"{whole}.{(fraction or '0')[:6]}{'+00:00' if zone == 'Z' else zone}"
    return datetime.fromisoformat(stamp).timestamp()
