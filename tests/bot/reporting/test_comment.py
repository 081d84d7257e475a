"""The one PR comment: created at the start, edited in place, with the seed's form, failures, measurements, the
jobs gantt, restorations and links; report.md is the same text and verification.json follows the schema."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import jsonschema

from bot.model import JobRecord, Restoration, RunRecord, ScenarioConclusion, ScenarioId, VerificationConclusion
from bot.reporting import build_reporter, write_report_dir
from bot.reporting.mermaid import gantt, mermaid_text
from bot.settings import Settings
from bot.texts import reports as texts
from tests.fakes.clock import EPOCH, FakeClock
from tests.paths import REPORT_SCHEMA
from tests.support.verifications import SHA, conclude, new_verification

from .conftest import RecordingApp
from .test_check_runs import run_verification

SCHEMA = REPORT_SCHEMA

OUTCOMES = {
    ScenarioId.NORMAL_DEPLOY: ScenarioConclusion.PASSED,
    ScenarioId.CONCURRENCY: ScenarioConclusion.PASSED,
    ScenarioId.FAILOVER: ScenarioConclusion.FAILED,
    ScenarioId.ROLLBACK: ScenarioConclusion.PASSED,
    ScenarioId.MONITORING: ScenarioConclusion.PASSED,
}


async def test_one_comment_is_created_and_edited_in_place(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    v = await run_verification(settings, app, clock, OUTCOMES)

    created = app.repo_.of("create_comment")
    assert len(created) == 1
    assert created[0].args["issue_number"] == 42
    assert (
        texts.COMMENT_INTRO.format(headline=texts.VERIFICATION_HEADLINE[None], requested_by="alice-admin", sha=SHA[:7])
        in created[0].args["body"]
    )
    edits = app.repo_.of("update_comment")
    assert edits and {e.args["comment_id"] for e in edits} == {v.comment_id}
    assert len(edits) <= len(OUTCOMES) + 1  # at most one edit per concluded scenario, plus the final one

    body = app.repo_.body(v.comment_id)
    assert (
        texts.COMMENT_INTRO.format(
            headline=texts.VERIFICATION_HEADLINE[VerificationConclusion.FAILURE],
            requested_by="alice-admin",
            sha=SHA[:7],
        )
        in body
    )
    for line in (
        "Requested by: alice-admin",
        "[x] Test 1: Normal Deployment - PASS",
        "[x] Test 2: Concurrency Control - PASS",
        "[ ] Test 3: Failover to Secondary - FAIL",
        "[x] Test 4: Health Check Rollback - PASS",
        "[x] Test 5: Monitoring & Alerts - PASS",
        "- **failover**: Deployment completes within the threshold: observed 31.5 s, threshold 20 s",
        "| failover | deployment_duration_s | 31.5 s |",
        texts.COMMENT_FOOTER_DONE.format(team=" `paws360/sre`"),
    ):
        assert line in body, line
    failover = v.scenario(ScenarioId.FAILOVER)
    assert f"[details](http://127.0.0.1:9/paws360/paws360/runs/{failover.check_run_id})" in body
    assert "```mermaid\ngantt" in body


def test_gantt_groups_jobs_by_runner_with_seconds_and_safe_names() -> None:
    v = new_verification((ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER))
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    conclude(v.scenarios[1], ScenarioConclusion.FAILED, start=20, runner="production-runner-02")
    v.scenarios[1].runs[0].jobs.append(
        JobRecord(
            job_id=5,
            name="deploy: prod; #1",
            run_id=9020,
            runner_name="production-runner-02",
            started_at=EPOCH,
            completed_at=EPOCH,
        )
    )
    hosted = [
        JobRecord(job_id=n, name="select-runner", run_id=9020, runner_name=f"GitHub Actions {n}", started_at=EPOCH)
        for n in (6, 7)
    ]
    skipped = JobRecord(job_id=8, name="rollback", run_id=9020, conclusion="skipped", started_at=EPOCH)
    v.scenarios[1].runs[0].jobs.extend([*hosted, skipped])
    chart = gantt(v)
    assert chart is not None
    lines = chart.splitlines()
    assert lines[:5] == [
        "```mermaid",
        "gantt",
        "    title Workflow jobs per runner (UTC)",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    axisFormat %H:%M:%S",
    ]
    assert "    section production-runner-01" in lines
    assert "    normal-deploy deploy (run 9000) :done, j70000, 2026-11-27 09:00:02, 2026-11-27 09:00:11" in lines
    assert "    section production-runner-02" in lines
    assert "    failover deploy (run 9020) :crit, done, j70020, 2026-11-27 09:00:22, 2026-11-27 09:00:31" in lines
    # A name can't end the task early; a zero-length job still gets a visible one-second bar.
    assert "    failover deploy prod 1 (run 9020) :done, j5, 2026-11-27 09:00:00, 2026-11-27 09:00:01" in lines
    # Hosted runners share one section; a skipped job ran nowhere and is not drawn.
    assert lines.count("    section GitHub-hosted runners") == 1
    assert not any("GitHub Actions" in line for line in lines)
    assert not any("j8," in line for line in lines)
    assert lines[-1] == "```"
    assert mermaid_text("a:b;c#d%%e") == "a b c d e"


def test_no_gantt_before_any_job_started() -> None:
    v = new_verification((ScenarioId.NORMAL_DEPLOY,))
    v.scenarios[0].runs = [RunRecord(run_id=1, jobs=[JobRecord(job_id=2, name="deploy", run_id=1)])]
    assert gantt(v) is None


async def test_restorations_are_listed_with_their_outcome(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    reporter = build_reporter(settings=settings, github=app, jira=None, clock=clock)
    v = new_verification((ScenarioId.FAILOVER,))
    await reporter.started(v)
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    v.restorations = [
        Restoration(
            host="production-runner-01",
            fault="systemctl stop actions.runner.*.service",
            undo="systemctl start actions.runner.*.service",
            ok=True,
            injected_at=EPOCH + timedelta(seconds=3),
            restored_at=EPOCH + timedelta(seconds=15),
        )
    ]
    v.conclusion, v.completed_at = VerificationConclusion.SUCCESS, EPOCH + timedelta(seconds=16)
    await reporter.finished(v)

    assert v.comment_id is not None
    body = app.repo_.body(v.comment_id)
    assert (
        "| production-runner-01 | `systemctl stop actions.runner.*.service` | "
        "`systemctl start actions.runner.*.service` | 09:00:03 | 09:00:15 | ✅ |"
    ) in body
    assert texts.VERIFICATION_HEADLINE[VerificationConclusion.SUCCESS] in body


async def test_report_dir_holds_the_final_comment_and_a_valid_verification_json(
    settings: Settings, app: RecordingApp, clock: FakeClock, tmp_path: Path
) -> None:
    v = await run_verification(settings, app, clock, OUTCOMES)
    assert v.comment_id is not None
    truth = tmp_path / "lab" / "lab-truth.jsonl"
    truth.parent.mkdir()
    truth.write_text('{"at": "2026-11-27T09:00:00.000Z", "event": "run_created", "run_id": 9000}\n')

    out = tmp_path / "report"
    write_report_dir(out, v, report_md=app.repo_.body(v.comment_id), truth_log=truth)

    assert (out / "report.md").read_text(encoding="utf-8") == app.repo_.body(v.comment_id)
    assert (out / "lab-truth.jsonl").read_text() == truth.read_text()
    document = json.loads((out / "verification.json").read_text())
    validator = jsonschema.Draft202012Validator(
        json.loads(SCHEMA.read_text()), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    assert list(validator.iter_errors(document)) == []
    assert document["conclusion"] == "failure"
    assert [s["conclusion"] for s in document["scenarios"]] == ["passed", "passed", "failed", "passed", "passed"]
