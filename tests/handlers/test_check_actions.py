"""The check-run buttons and re-run links: what each starts, and who is refused."""

from __future__ import annotations

import dataclasses

from bot.accounting import current_tally, open_tally
from bot.model import ScenarioConclusion, ScenarioId
from bot.reporting import external_id
from bot.reporting.escape import md_text
from bot.texts import commands, reports, safety
from handlers.checks import router
from handlers.comments import router as comments_router
from scenarios import EngineBusy
from tests.handlers.handler_support import World, check_event, comment_event, replies
from tests.support.verifications import REPO, conclude, new_verification


async def finished(w: World) -> str:
    v = new_verification((ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER, ScenarioId.ROLLBACK))
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    conclude(v.scenarios[1], ScenarioConclusion.FAILED, start=20)
    conclude(v.scenarios[2], ScenarioConclusion.ERROR, start=40)
    v.conclusion, v.completed_at = v.decide_conclusion(), v.started_at
    await w.store.save_verification(v)
    return v.verification_id


async def test_rerun_failed_starts_the_failed_and_errored_scenarios_on_the_current_head(w: World) -> None:
    vid = await finished(w)
    event = check_event(
        "check_run", "requested_action", user="alice-admin", external_id=external_id(vid), identifier="rerun_failed"
    )
    await w.handle(router, event)

    (request,) = w.engine.started
    assert request.scenarios == (ScenarioId.FAILOVER, ScenarioId.ROLLBACK)
    assert (request.pull_request, request.requested_by, request.jira_issue) == (42, "alice-admin", "INFRA-473")
    assert request.head_sha == w.repo.pull_requests[42].head_sha


async def test_rerequesting_one_check_run_reruns_that_scenario(w: World) -> None:
    vid = await finished(w)
    event = check_event(
        "check_run", "rerequested", user="alice-admin", external_id=external_id(vid, ScenarioId.NORMAL_DEPLOY)
    )
    await w.handle(router, event)
    assert [r.scenarios for r in w.engine.started] == [(ScenarioId.NORMAL_DEPLOY,)]


async def test_rerequesting_the_suite_reruns_every_scenario_of_the_latest_verification(w: World) -> None:
    await finished(w)
    await w.handle(router, check_event("check_suite", "rerequested", user="alice-admin"))
    assert [r.scenarios for r in w.engine.started] == [
        (ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER, ScenarioId.ROLLBACK)
    ]


async def test_abort_asks_the_engine_and_says_so(w: World) -> None:
    vid = await finished(w)
    w.engine.busy["staging"] = vid
    event = check_event(
        "check_run", "requested_action", user="alice-admin", external_id=external_id(vid), identifier="abort"
    )
    await w.handle(router, event)
    assert w.engine.aborted == [(vid, "alice-admin")]
    (reply,) = [c.body for c in w.repo.comments.values()]
    assert reply == reports.CHECKS_ABORT_REQUESTED.format(user="alice-admin", verification_id=vid)


async def test_people_without_permission_are_refused_and_nothing_starts(w: World) -> None:
    vid = await finished(w)
    for event in (
        check_event(
            "check_run", "requested_action", user="bob-reader", external_id=external_id(vid), identifier="rerun_failed"
        ),
        check_event(
            "check_run", "requested_action", user="bob-reader", external_id=external_id(vid), identifier="abort"
        ),
        check_event("check_suite", "rerequested", user="bob-reader"),
    ):
        await w.handle(router, event)
    assert w.engine.started == [] and w.engine.aborted == []
    replies = [c.body for c in w.repo.comments.values()]
    assert len(replies) == 3
    assert replies == [commands.NOT_AUTHORIZED.format(user="bob-reader", minimum="admin", permission="read")] * 3


async def test_a_second_verification_is_not_started_while_one_runs(w: World) -> None:
    await finished(w)
    w.engine.busy["staging"] = "vs-running"
    await w.handle(router, check_event("check_suite", "rerequested", user="alice-admin"))
    assert w.engine.started == []
    (reply,) = [c.body for c in w.repo.comments.values()]
    assert reply == commands.ALREADY_RUNNING.format(
        user="alice-admin", environment="staging", verification_id="vs-running", link="another pull request"
    )


async def test_check_runs_of_other_apps_are_ignored(w: World) -> None:
    await w.handle(router, check_event("check_run", "rerequested", user="alice-admin", external_id=""))
    await w.handle(router, check_event("check_run", "rerequested", user="alice-admin", external_id="other:1"))
    assert w.engine.started == [] and w.repo.calls == []


async def test_a_button_and_a_comment_get_the_same_answer_while_another_verification_runs(w: World) -> None:
    """Issue 17 §1: one already-running answer, linking the pull request the running verification belongs to."""
    vid = await finished(w)
    w.engine.busy["staging"] = vid  # the verification the button belongs to is still running
    await w.handle(router, check_event("check_suite", "rerequested", user="alice-admin"))
    await w.handle(comments_router, comment_event("/verify-staging", user="alice-admin"))
    link = f"[{REPO}#42](https://github.com/{REPO}/pull/42)"
    expected = commands.ALREADY_RUNNING.format(
        user="alice-admin", environment="staging", verification_id=vid, link=link
    )
    assert replies(w) == [expected, expected]
    assert w.engine.started == []


async def test_a_rerun_on_a_repository_without_an_environment_is_answered_as_a_comment_is(w: World) -> None:
    """Issue 17 §1: the button used to return without a word where the comment says the repository is not set up."""
    vid = await finished(w)
    settings = w.ctx.settings
    w.ctx = dataclasses.replace(
        w.ctx, settings=dataclasses.replace(settings, github=dataclasses.replace(settings.github, repositories={}))
    )
    event = check_event(
        "check_run", "requested_action", user="alice-admin", external_id=external_id(vid), identifier="rerun_failed"
    )
    await w.handle(router, event)
    await w.handle(comments_router, comment_event("/verify-staging failover", user="alice-admin"))
    assert replies(w) == [commands.NOT_CONFIGURED.format(repository=REPO)] * 2
    assert w.engine.started == []


async def test_an_engine_refusal_of_a_rerun_is_replied_with_its_reason(w: World) -> None:
    """A pending undo refuses the start (scenarios.EngineBusy): the button's user is told why, as a comment's is."""
    vid = await finished(w)
    reason = safety.UNDO_PENDING_REFUSED.format(
        undo="sudo systemctl start paws360-backend", host="staging-backend-host", verification_id=vid,
        error="staging-backend-host: connection refused", interval=30,
    )  # fmt: skip
    w.engine.refusal = EngineBusy(reason)
    w.ctx = dataclasses.replace(w.ctx, new_id=lambda: "vs-rerun")
    event = check_event(
        "check_run", "rerequested", user="alice-admin", external_id=external_id(vid, ScenarioId.FAILOVER)
    )
    await w.handle(router, event)
    assert w.engine.started == []
    assert replies(w) == [
        commands.START_FAILED.format(user="alice-admin", verification_id="vs-rerun", error=md_text(reason))
    ]


async def test_a_rerun_counts_its_github_calls_on_a_tally_of_its_own(w: World) -> None:
    """The requests a re-run makes count toward the verification it starts, not toward an earlier delivery's (the
    runtime handles deliveries one after another in the same task, so an earlier tally would still be current)."""
    await finished(w)
    earlier = open_tally()
    earlier.count = 99
    await w.handle(router, check_event("check_suite", "rerequested", user="alice-admin"))
    assert len(w.engine.started) == 1
    tally = current_tally()
    assert tally is not earlier and tally is not None
    assert tally.count == len(w.repo.calls) == 2  # the permission and the pull request
