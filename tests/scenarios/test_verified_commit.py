"""A verification proves exactly the commit it was asked for: dispatches name the branch's full ref, a run that
tested another commit fails its scenario and counts for nothing, and a push during the run cancels it."""

from __future__ import annotations

from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId, VerificationConclusion
from bot.texts import reports as texts
from tests.scenarios.world import PRIMARY, UNIT, request, world

REQUESTED = "a" * 40
PUSHED = "b" * 40


async def test_dispatch_names_the_full_branch_ref_so_a_tag_cannot_shadow_it(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.verify(ScenarioId.NORMAL_DEPLOY)
    assert [d.ref for d in w.repo.dispatches] == ["refs/heads/001-github-runner-deploy"]


async def test_a_run_on_another_commit_fails_its_scenario_and_is_not_evidence(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        # Asked at A; the author force-pushed B before the dispatch: GitHub runs the branch as it is now.
        w.pipeline.head_sha = PUSHED
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = v.scenario(ScenarioId.NORMAL_DEPLOY)
    assert s.conclusion is ScenarioConclusion.FAILED
    run_id = s.runs[0].run_id
    assert s.reason == texts.TESTED_COMMIT_WRONG.format(run_id=run_id, observed=PUSHED, expected=REQUESTED)
    [criterion] = s.criteria  # nothing the run showed was judged: no runner, duration or health verdict from it
    assert (criterion.id, criterion.passed, criterion.observed, criterion.threshold) == (
        "tested-requested-commit",
        False,
        PUSHED,
        REQUESTED,
    )
    assert [r.head_sha for r in s.runs] == [PUSHED]  # kept for the audit trail, with the commit it tested
    assert v.to_report()["scenarios"][0]["runs"][0]["head_sha"] == PUSHED
    assert v.conclusion is VerificationConclusion.FAILURE


async def test_a_wrong_commit_seen_while_a_fault_is_injected_still_restores(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.head_sha = PUSHED
        v = await w.verify(ScenarioId.FAILOVER)
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
    s = v.scenario(ScenarioId.FAILOVER)
    assert s.conclusion is ScenarioConclusion.FAILED
    assert "tested-requested-commit" in [c.id for c in s.failed_criteria()]
    assert "secondary-runner" not in [c.id for c in s.criteria]
    assert [r.ok for r in v.restorations] == [True]


async def test_a_push_during_the_verification_cancels_it_naming_the_new_head(tmp_path: Path) -> None:
    reason = texts.HEAD_MOVED_REASON.format(user="mallory", sha=PUSHED)
    async with world(tmp_path) as w:
        assert w.engine is not None
        await w.engine.start(request("v-p", (ScenarioId.FAILOVER, ScenarioId.ROLLBACK)))
        while not w.repo.dispatches:  # bounded by the engine's own timeouts on virtual time
            await w.clock.sleep(0.25)
        assert await w.engine.abort("v-p", by="mallory", reason=reason)
        await w.engine.wait("v-p")
        v = await w.store.load_verification("v-p")
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
    assert v is not None and v.conclusion is VerificationConclusion.CANCELLED
    assert v.reason == f"{reason}; everything the bot had stopped was started again."
    assert v.scenario(ScenarioId.FAILOVER).reason == f"{reason} before the scenario finished."
    assert v.scenario(ScenarioId.ROLLBACK).reason == f"Not run: {reason}."
    assert [r.ok for r in v.restorations] == [True]
