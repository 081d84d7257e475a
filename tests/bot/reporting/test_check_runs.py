"""Check runs as a user sees them on the pull request: names, states, criteria tables, buttons, and how many
requests a whole verification costs."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.model import ScenarioConclusion, ScenarioId, ScenarioStatus, Step, Verification
from bot.ports import ProgressEvent, Reporter
from bot.reporting import DEFAULT_MIN_INTERVAL, build_reporter, parse_external_id
from bot.settings import ServerSettings, Settings
from bot.texts import reports as texts
from tests.fakes.clock import FakeClock
from tests.fakes.jira import FakeJira
from tests.support.verifications import SHA, conclude, new_verification

from .conftest import RecordingApp, settle


async def started(
    settings: Settings,
    app: RecordingApp,
    clock: FakeClock,
    scenarios: tuple[ScenarioId, ...],
    *,
    jira: FakeJira | None = None,
    min_interval: float = DEFAULT_MIN_INTERVAL,
) -> tuple[Reporter, Verification]:
    """The reporters, told a verification of `scenarios` has started (as the engine tells them)."""
    reporter = build_reporter(settings=settings, github=app, jira=jira, clock=clock, min_interval=min_interval)
    v = new_verification(scenarios)
    await reporter.started(v)
    return reporter, v


async def run_verification(
    settings: Settings,
    app: RecordingApp,
    clock: FakeClock,
    outcomes: dict[ScenarioId, ScenarioConclusion],
    *,
    jira: FakeJira | None = None,
    steps_per_scenario: int = 6,
    step_seconds: float = 2.5,
) -> Verification:
    """Drive the reporters as the engine does: start, steps as they end, conclusions, finish."""
    reporter, v = await started(settings, app, clock, tuple(outcomes), jira=jira)
    for index, s in enumerate(v.scenarios):
        s.status = ScenarioStatus.IN_PROGRESS
        await reporter.progress(ProgressEvent(v, s.id))
        for n in range(steps_per_scenario):
            clock.advance(step_seconds)
            await settle()
            s.steps.append(Step(f"step {n}", clock.now()))
            await reporter.progress(ProgressEvent(v, s.id))
        conclude(s, outcomes[s.id], start=index * 20)
        await reporter.progress(ProgressEvent(v, s.id))
    v.conclusion = v.decide_conclusion()
    v.completed_at = clock.now() + timedelta(seconds=1)
    await reporter.finished(v)
    return v


async def test_one_check_run_per_scenario_and_one_overall_on_the_head_sha(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    _, v = await started(settings, app, clock, (ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER))

    created = app.repo_.of("create_check_run")
    assert [c.args["name"] for c in created] == [
        "verify-staging",
        "verify-staging / normal-deploy",
        "verify-staging / failover",
    ]
    assert {c.args["head_sha"] for c in created} == {SHA}
    assert [c.args["status"] for c in created] == ["in_progress", "queued", "queued"]
    assert [parse_external_id(c.args["external_id"]) for c in created] == [
        ("v-0001", None),
        ("v-0001", ScenarioId.NORMAL_DEPLOY),
        ("v-0001", ScenarioId.FAILOVER),
    ]
    assert v.overall_check_run_id is not None
    assert all(s.check_run_id is not None for s in v.scenarios)
    assert created[1].args["output"].title == "Queued"
    assert [a.label for a in created[1].args["actions"]] == ["Abort"]


async def test_failed_scenario_check_run_shows_criteria_timeline_and_jobs(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    v = await run_verification(settings, app, clock, {ScenarioId.NORMAL_DEPLOY: ScenarioConclusion.FAILED})

    check_run_id = v.scenarios[0].check_run_id
    assert check_run_id is not None
    updates = app.repo_.check_updates(check_run_id)
    assert updates[0].args["status"] == "in_progress"
    final = updates[-1].args
    assert (final["status"], final["conclusion"]) == ("completed", "failure")
    output = final["output"]
    assert output.title == "FAIL: Normal deployment on the primary runner"
    assert output.summary.startswith("**Reason:** Deployment took 31.5 s, over the 20 s threshold.")
    assert "| Deployment completes within the threshold | 31.5 s | 20 s | ❌ fail |" in output.summary
    assert "| Deploy job ran on the expected runner | production-runner-01 | production-runner-01 | ✅ pass |" in (
        output.summary
    )
    assert "| dispatch | 09:00:00 | 09:00:01 | ok |" in output.text
    assert "| 9000 | deploy | production-runner-01 | 09:00:01 | 09:00:02 | 09:00:11 | failure |" in output.text
    assert [a.label for a in final["actions"]] == ["Re-run failed"]

    assert v.overall_check_run_id is not None
    overall = app.repo_.check_updates(v.overall_check_run_id)[-1].args
    assert (overall["status"], overall["conclusion"]) == ("completed", "failure")
    assert overall["output"].title == "0/1 scenarios passed"


async def test_progress_is_coalesced_and_the_latest_step_is_shown(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    reporter, v = await started(settings, app, clock, (ScenarioId.FAILOVER,), min_interval=5)
    s = v.scenarios[0]
    assert s.check_run_id is not None
    s.status = ScenarioStatus.IN_PROGRESS
    await reporter.progress(ProgressEvent(v, s.id))
    for n in range(4):
        s.steps.append(Step(f"wait for runner offline {n}", clock.now()))
        await reporter.progress(ProgressEvent(v, s.id))
    assert [u.args["status"] for u in app.repo_.check_updates(s.check_run_id)] == ["in_progress"]

    await settle()
    clock.advance(5)
    await settle()
    updates = app.repo_.check_updates(s.check_run_id)
    assert len(updates) == 2
    assert updates[1].args["output"].title == "Running: wait for runner offline 3"

    conclude(s, ScenarioConclusion.PASSED, start=0)
    await reporter.progress(ProgressEvent(v, s.id))  # the final state goes out at once
    assert app.repo_.check_updates(s.check_run_id)[-1].args["conclusion"] == "success"


async def test_five_scenarios_stay_within_the_request_budget(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    outcomes = dict.fromkeys(ScenarioId, ScenarioConclusion.PASSED)
    v = await run_verification(settings, app, clock, outcomes, jira=jira, steps_per_scenario=7)

    # ~18 s per scenario (the lab's pace) with a step every 2.5 s: the engine's own ~15 requests must still fit in 60.
    assert len(app.repo_.calls) <= 45
    for s in v.scenarios:
        assert s.check_run_id is not None
        assert app.repo_.check_updates(s.check_run_id)[-1].args["conclusion"] == "success"
    assert len(app.repo_.of("create_comment")) == 1


async def test_scenarios_that_never_ran_are_closed_when_the_verification_is_cancelled(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    from bot.model import VerificationConclusion

    reporter, v = await started(settings, app, clock, (ScenarioId.FAILOVER, ScenarioId.ROLLBACK))
    v.conclusion, v.reason = VerificationConclusion.CANCELLED, "Aborted by alice-admin."
    v.completed_at = clock.now()
    await reporter.finished(v)

    for s in v.scenarios:
        assert s.check_run_id is not None
        final = app.repo_.check_updates(s.check_run_id)[-1].args
        assert (final["status"], final["conclusion"]) == ("completed", "cancelled")
        assert final["output"].title == "Not run"
        assert "Aborted by alice-admin." in final["output"].summary


async def test_a_failing_check_run_api_does_not_stop_the_comment_or_jira(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    app.repo_.fail = {"create_check_run", "update_check_run"}
    await run_verification(settings, app, clock, {ScenarioId.ROLLBACK: ScenarioConclusion.PASSED}, jira=jira)

    assert len(app.repo_.of("create_comment")) == 1
    assert app.repo_.of("update_comment")
    assert len(jira.bodies()) == 2


async def test_check_runs_link_to_the_details_page_when_public_url_is_set(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    public = dataclasses.replace(settings, server=ServerSettings(public_url="https://verify.example.test"))
    _, v = await started(public, app, clock, (ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER))
    page = f"https://verify.example.test/verifications/{v.verification_id}"
    urls = {run.name: run.details_url for run in app.repo_.check_runs.values()}
    assert urls[texts.CHECK_NAME] == page
    assert sorted(u for name, u in urls.items() if name != texts.CHECK_NAME) == [
        f"{page}#scenario-failover",
        f"{page}#scenario-normal-deploy",
    ]


async def test_check_runs_keep_githubs_default_link_without_public_url(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    await started(settings, app, clock, (ScenarioId.NORMAL_DEPLOY,))
    assert [run.details_url for run in app.repo_.check_runs.values()] == [None, None]
