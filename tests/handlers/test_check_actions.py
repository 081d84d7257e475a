"""The check-run buttons and re-run links: what each starts, and who is refused."""

from __future__ import annotations

from bot.model import ScenarioConclusion, ScenarioId
from bot.reporting import external_id
from bot.texts import commands, reports
from handlers.checks import router
from tests.handlers.handler_support import World, check_event
from tests.support.verifications import conclude, new_verification


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
