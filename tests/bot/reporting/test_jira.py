"""JIRA as the team finds it: comments at start and end in wiki markup, transitions chosen by status name, and a
JIRA outage that is reported instead of failing the verification."""

from __future__ import annotations

import pytest

from bot.model import JiraReport, ScenarioConclusion, ScenarioId
from bot.ports import JiraTransition
from bot.reporting import transition_to
from bot.reporting.escape import md_text
from bot.reporting.jira import TransitionUnavailable
from bot.reporting.jira_attachments import attachment_files
from bot.settings import Settings
from bot.texts import reports as texts
from tests.fakes.clock import FakeClock
from tests.fakes.jira import FakeJira

from .conftest import RecordingApp
from .test_check_runs import run_verification


async def test_all_passed_moves_the_issue_to_in_progress_then_in_review(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    outcomes = dict.fromkeys((ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER), ScenarioConclusion.PASSED)
    v = await run_verification(settings, app, clock, outcomes, jira=jira)

    assert jira.moves == [("INFRA-473", "To Do", "In Progress"), ("INFRA-473", "In Progress", "In Review")]
    start, end = jira.bodies()
    assert start == texts.JIRA_STARTED.format(
        environment="staging", verification_id="v-0001", repository="paws360/paws360", pull_request=42,
        sha="aaaaaaa", requested_by="alice-admin", scenarios="normal-deploy, failover",
    )  # fmt: skip
    assert end.startswith(
        texts.JIRA_FINISHED.format(environment="staging", verification_id="v-0001", verdict="SUCCESS")
    )
    assert texts.JIRA_TABLE_HEADER in end
    assert (
        "|1|Normal deployment on the primary runner|PASS|Deployment completes within the threshold|9.0 s|20 s|" in end
    )
    assert "awaiting SRE sign-off" in end
    assert "Pull request: http://127.0.0.1:9/paws360/paws360/pull/42" in end
    assert v.jira == JiraReport(
        issue="INFRA-473",
        transitions=["In Progress", "In Review"],
        comment_id="10002",
        attachments=[f.filename for f in attachment_files(v, report_md=lambda: "")],
    )


async def test_failures_are_named_and_the_issue_stays_in_progress(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    outcomes = {ScenarioId.NORMAL_DEPLOY: ScenarioConclusion.FAILED, ScenarioId.FAILOVER: ScenarioConclusion.PASSED}
    v = await run_verification(settings, app, clock, outcomes, jira=jira)

    assert jira.moves == [("INFRA-473", "To Do", "In Progress")]
    end = jira.bodies()[-1]
    assert "— FAILURE" in end
    assert "What failed:\n* normal-deploy: Deployment took 31.5 s, over the 20 s threshold." in end
    assert (
        "|1|Normal deployment on the primary runner|FAIL|Deployment completes within the threshold|31.5 s|20 s|" in end
    )
    assert v.jira is not None and v.jira.error is None


async def test_an_issue_already_in_the_status_is_left_alone(jira: FakeJira) -> None:
    jira.statuses["INFRA-473"] = "In Progress"
    assert await transition_to(jira, "INFRA-473", "in progress") is False
    assert jira.moves == []


async def test_a_missing_transition_fails_loudly_listing_the_offered_ones(jira: FakeJira) -> None:
    jira.workflow["To Do"] = (JiraTransition("5", "Triage", "Backlog"),)
    with pytest.raises(TransitionUnavailable) as caught:
        await transition_to(jira, "INFRA-473", "In Review")
    assert str(caught.value) == texts.JIRA_TRANSITION_MISSING.format(
        key="INFRA-473", target="In Review", offered="Triage -> Backlog"
    )


async def test_jira_down_is_reported_and_does_not_stop_github_reports(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    jira = FakeJira(down=True)
    async with clock.running():
        v = await run_verification(settings, app, clock, {ScenarioId.ROLLBACK: ScenarioConclusion.PASSED}, jira=jira)

    assert v.jira is not None
    assert v.jira.error is not None
    assert v.jira.error.startswith("start comment: JIRA at http://jira.invalid could not be reached")
    assert "results comment:" in v.jira.error
    # Bounded: three attempts for each of the five steps (start comment, in progress, in review, attachments,
    # results comment).
    assert jira.calls == 15
    assert v.comment_id is not None
    # JIRA's error is outside text: shown escaped (its URL is not a link).
    assert "JIRA: INFRA-473 (" + md_text("start comment: JIRA at http://jira.invalid") in app.repo_.body(v.comment_id)
    assert v.to_report()["jira"]["error"] == v.jira.error


async def test_a_brief_jira_outage_is_retried(settings: Settings, app: RecordingApp, clock: FakeClock) -> None:
    jira = FakeJira(fail_next=2)
    async with clock.running():
        v = await run_verification(settings, app, clock, {ScenarioId.ROLLBACK: ScenarioConclusion.PASSED}, jira=jira)
    assert v.jira is not None and v.jira.error is None
    assert len(jira.bodies()) == 2
    assert [m[2] for m in jira.moves] == ["In Progress", "In Review"]
