"""The check-run buttons and re-run links: what each starts, and who is refused."""

from __future__ import annotations

from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId
from bot.reporting import external_id
from handlers.checks import router

from .conftest import conclude, new_verification
from .handler_support import World, check_event, world


async def finished(w: World) -> str:
    v = new_verification((ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER, ScenarioId.ROLLBACK))
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    conclude(v.scenarios[1], ScenarioConclusion.FAILED, start=20)
    conclude(v.scenarios[2], ScenarioConclusion.ERROR, start=40)
    v.conclusion, v.completed_at = v.decide_conclusion(), v.started_at
    await w.store.save_verification(v)
    return v.verification_id


async def test_rerun_failed_starts_the_failed_and_errored_scenarios_on_the_current_head(tmp_path: Path) -> None:
    w = await world(tmp_path)
    vid = await finished(w)
    event = check_event(
        "check_run", "requested_action", user="alice-admin", external_id=external_id(vid), identifier="rerun_failed"
    )
    await w.handle(router, event)

    (request,) = w.engine.started
    assert request.scenarios == (ScenarioId.FAILOVER, ScenarioId.ROLLBACK)
    assert (request.pull_request, request.requested_by, request.jira_issue) == (42, "alice-admin", "INFRA-473")
    assert request.head_sha == w.repo.pull_requests[42].head_sha
    await w.store.close()


async def test_rerequesting_one_check_run_reruns_that_scenario(tmp_path: Path) -> None:
    w = await world(tmp_path)
    vid = await finished(w)
    event = check_event(
        "check_run", "rerequested", user="alice-admin", external_id=external_id(vid, ScenarioId.NORMAL_DEPLOY)
    )
    await w.handle(router, event)
    assert [r.scenarios for r in w.engine.started] == [(ScenarioId.NORMAL_DEPLOY,)]
    await w.store.close()


async def test_rerequesting_the_suite_reruns_every_scenario_of_the_latest_verification(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await finished(w)
    await w.handle(router, check_event("check_suite", "rerequested", user="alice-admin"))
    assert [r.scenarios for r in w.engine.started] == [
        (ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER, ScenarioId.ROLLBACK)
    ]
    await w.store.close()


async def test_abort_asks_the_engine_and_says_so(tmp_path: Path) -> None:
    w = await world(tmp_path)
    vid = await finished(w)
    w.engine.busy["staging"] = vid
    event = check_event(
        "check_run", "requested_action", user="alice-admin", external_id=external_id(vid), identifier="abort"
    )
    await w.handle(router, event)
    assert w.engine.aborted == [(vid, "alice-admin")]
    (reply,) = [c.body for c in w.repo.comments.values()]
    assert reply == f"@alice-admin asked verification `{vid}` to stop; everything it changed will be restored."
    await w.store.close()


async def test_people_without_permission_are_refused_and_nothing_starts(tmp_path: Path) -> None:
    w = await world(tmp_path)
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
    assert all(r.startswith("@bob-reader only people with at least `admin` permission") for r in replies)
    await w.store.close()


async def test_a_second_verification_is_not_started_while_one_runs(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await finished(w)
    w.engine.busy["staging"] = "vs-running"
    await w.handle(router, check_event("check_suite", "rerequested", user="alice-admin"))
    assert w.engine.started == []
    (reply,) = [c.body for c in w.repo.comments.values()]
    assert (
        reply == "@alice-admin verification `vs-running` is already running in `staging`; re-run once it has finished."
    )
    await w.store.close()


async def test_check_runs_of_other_apps_are_ignored(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await w.handle(router, check_event("check_run", "rerequested", user="alice-admin", external_id=""))
    await w.handle(router, check_event("check_run", "rerequested", user="alice-admin", external_id="other:1"))
    assert w.engine.started == [] and w.repo.calls == []
    await w.store.close()
