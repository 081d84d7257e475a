"""A scheduled verification as people see it: its comment on the environment's tracking issue (never on "PR 0",
never mentioning a user called schedule, no sign-off), JIRA commented but not moved, and a valid verification.json
with no pull request and its trigger."""

from __future__ import annotations

import dataclasses
import json

import jsonschema

from bot.model import ScenarioConclusion, ScenarioId, Trigger, Verification, VerificationConclusion
from bot.reporting import build_reporter
from bot.reporting.details_page import PageLinks, render_details
from bot.reporting.jira_render import started_comment
from bot.settings import Settings
from bot.texts import reports as report_texts
from bot.texts import schedule as texts
from tests.fakes.clock import FakeClock
from tests.fakes.jira import FakeJira
from tests.paths import REPORT_SCHEMA
from tests.support.verifications import SHA, conclude, new_verification

from .conftest import RecordingApp
from .test_jira_attachments import verify

TRACKING_ISSUE = 7


def scheduled_verification() -> Verification:
    return dataclasses.replace(
        new_verification((ScenarioId.NORMAL_DEPLOY,)),
        pull_request=0,
        requested_by=texts.REQUESTED_BY,
        ref="refs/heads/main",
        trigger=Trigger.SCHEDULE,
        tracking_issue=TRACKING_ISSUE,
    )


async def run_scheduled(settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira) -> Verification:
    return await verify(settings, app, clock, jira, verification=scheduled_verification())


async def test_the_comment_goes_to_the_tracking_issue_and_speaks_of_the_schedule(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    v = await run_scheduled(settings, app, clock, jira)
    created = app.repo_.of("create_comment")
    assert [c.args["issue_number"] for c in created] == [TRACKING_ISSUE]
    body = app.repo_.body(v.comment_id)
    headline = report_texts.VERIFICATION_HEADLINE[VerificationConclusion.SUCCESS]
    assert texts.COMMENT_INTRO.format(headline=headline, sha=SHA[:7]) in body
    assert texts.COMMENT_FOOTER.format(environment="staging") in body
    assert "@schedule" not in body and "/sre-signoff" not in body


async def test_jira_is_commented_but_no_transition_awaits_a_sign_off(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    v = await run_scheduled(settings, app, clock, jira)
    started, finished = jira.bodies()[:2]
    assert started == started_comment(v)
    assert "branch main" in started and "pull request #0" not in started
    assert texts.JIRA_ALL_PASSED in finished
    assert texts.JIRA_LINK.format(url=f"http://127.0.0.1:9/{v.repository}/issues/{TRACKING_ISSUE}") in finished
    assert jira.moves == []


def test_the_report_has_no_pull_request_and_names_its_trigger() -> None:
    v = scheduled_verification()
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    report = v.to_report()
    jsonschema.validate(report, json.loads(REPORT_SCHEMA.read_text()))
    assert (report["pull_request"], report["trigger"], report["tracking_issue"]) == (None, "schedule", TRACKING_ISSUE)
    commented = new_verification((ScenarioId.NORMAL_DEPLOY,)).to_report()
    assert (commented["pull_request"], commented["trigger"]) == (42, "comment")


def test_the_details_page_links_the_tracking_issue_not_a_pull_request() -> None:
    v = scheduled_verification()
    links = PageLinks(github_web="https://github.example", jira_url=None)
    page = render_details(v, svg="<svg></svg>", links=links)
    assert f'href="https://github.example/{v.repository}/issues/{TRACKING_ISSUE}"' in page
    assert "/pull/0" not in page
    assert texts.DETAILS_TITLE.format(repository=v.repository, ref="main") in page


async def test_a_failed_scheduled_verification_offers_no_re_run_button(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    reporter = build_reporter(settings=settings, github=app, jira=None, clock=clock)
    v = scheduled_verification()
    await reporter.started(v)
    conclude(v.scenarios[0], ScenarioConclusion.FAILED, start=0)
    v.conclusion, v.completed_at = v.decide_conclusion(), clock.now()
    await reporter.finished(v)
    concluded = [c for c in app.repo_.of("update_check_run") if c.args["conclusion"] is not None]
    assert concluded and all(c.args["actions"] == [] for c in concluded)
