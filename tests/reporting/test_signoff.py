"""`/sre-signoff` as the SRE and everyone else experience it: refusals with reasons, the completed form on the
pull request and in JIRA, and the issue moved to Done (approve) or back (reject)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId
from bot.reporting.escape import md_text
from bot.texts import reports as texts
from handlers.signoff import router

from .conftest import SHA, conclude, new_verification
from .handler_support import World, comment_event, world


async def finished(w: World, *, failed: ScenarioId | None = None, head: str = SHA) -> None:
    v = new_verification(tuple(ScenarioId))
    v.head_sha = head
    for n, s in enumerate(v.scenarios):
        conclude(s, ScenarioConclusion.FAILED if s.id is failed else ScenarioConclusion.PASSED, start=n * 20)
    v.conclusion, v.completed_at = v.decide_conclusion(), v.started_at
    await w.store.save_verification(v)


def replies(w: World) -> list[str]:
    return [c.body for c in w.repo.comments.values()]


async def test_approval_posts_the_form_and_moves_jira_to_done(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await finished(w)
    w.jira.statuses["INFRA-473"] = "In Review"

    await w.handle(router, comment_event("/sre-signoff approve runbooks reviewed", user="sam-sre"))

    assert w.repo.reactions == [(777, "eyes")]
    (body,) = replies(w)
    assert body.startswith("## SRE sign-off: APPROVED\n\nVerification `v-0001` of head `aaaaaaa`.")
    for line in (
        "SRE Engineer: sam-sre",
        "[x] Test 1: Normal Deployment - PASS",
        "[x] Test 5: Monitoring & Alerts - PASS",
        "Comments:\nrunbooks reviewed",
        "Approval Status: [x] APPROVED  [ ] REJECTED  [ ] NEEDS REVISION",
    ):
        assert line in body, line
    assert w.jira.moves == [("INFRA-473", "In Review", "Done")]
    assert w.jira.bodies()[0].startswith("h3. SRE sign-off: APPROVED\n{noformat}\nDate: ")
    await w.store.close()


async def test_rejection_needs_a_reason_and_moves_jira_back(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await finished(w, failed=ScenarioId.FAILOVER)
    w.jira.statuses["INFRA-473"] = "In Progress"

    await w.handle(router, comment_event("/sre-signoff reject", user="sam-sre"))
    await w.handle(router, comment_event("/sre-signoff reject failover too slow", user="sam-sre"))

    usage, form = replies(w)
    assert "usage: `/sre-signoff approve [comment]` or `/sre-signoff reject <reason>`" in usage
    assert "[ ] Test 3: Failover to Secondary - FAIL" in form
    assert "Approval Status: [ ] APPROVED  [x] REJECTED" in form
    assert "If rejected, reason: failover too slow" in form
    assert w.jira.moves == [("INFRA-473", "In Progress", "To Do")]
    await w.store.close()


async def test_refusals_say_why(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))  # nothing verified yet
    await w.handle(router, comment_event("/sre-signoff approve", user="alice-admin"))  # not in the team
    await finished(w, failed=ScenarioId.ROLLBACK)
    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))  # not all passed
    await finished(w, head="b" * 40)
    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))  # head moved on

    none, member, failed, stale = replies(w)
    assert none == "@sam-sre there is no verification of this pull request to sign off: run `/verify-staging`."
    assert member == "@alice-admin only members of the `paws360/sre` team may sign off a staging verification."
    assert "approve is refused: not every scenario of verification `v-0001` passed (rollback: FAIL)" in failed
    assert "the pull request head is now `aaaaaaa`, but the latest verification `v-0001` checked `bbbbbbb`" in stale
    assert w.jira.comments == [] and w.jira.moves == []
    await w.store.close()


async def test_edited_bot_and_other_comments_are_ignored(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await finished(w)
    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre", action="edited"))
    await w.handle(router, comment_event("/sre-signoff approve", user="x[bot]", user_type="Bot"))
    await w.handle(router, comment_event("looks good /sre-signoff approve", user="sam-sre"))
    assert w.repo.calls == [] and w.jira.calls == 0
    await w.store.close()


async def test_jira_down_is_said_on_the_pull_request(tmp_path: Path) -> None:
    w = await world(tmp_path)
    await finished(w)
    w.jira.down = True
    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))
    (body,) = replies(w)
    assert "Approval Status: [x] APPROVED" in body
    # JIRA's error is outside text: shown escaped (its URL is not a link).
    error = md_text("JIRA at http://jira.invalid could not be reached (ConnectionError)")
    assert body.endswith(f"_JIRA could not be updated: {error}_")
    await w.store.close()


async def test_approval_is_refused_when_a_run_tested_another_commit(tmp_path: Path) -> None:
    # Asked at A, the branch was force-pushed to B while the runs were dispatched, then pushed back to A: the
    # head is A again, but one run tested B.
    w = await world(tmp_path)
    v = new_verification(tuple(ScenarioId))
    for n, s in enumerate(v.scenarios):
        conclude(s, ScenarioConclusion.PASSED, start=n * 20)
    failover = v.scenario(ScenarioId.FAILOVER)
    failover.runs[0].head_sha = "b" * 40
    v.conclusion, v.completed_at = v.decide_conclusion(), v.started_at
    await w.store.save_verification(v)

    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))

    assert replies(w) == [
        texts.SIGNOFF_RUN_OTHER_COMMIT.format(
            user="sam-sre",
            run_id=failover.runs[0].run_id,
            verification_id="v-0001",
            observed="b" * 40,
            head=SHA,
        )
    ]
    assert w.jira.moves == []
    await w.store.close()


async def test_a_run_without_a_recorded_commit_is_no_evidence_for_sign_off(tmp_path: Path) -> None:
    w = await world(tmp_path)
    v = new_verification((ScenarioId.NORMAL_DEPLOY,))
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    v.scenarios[0].runs[0].head_sha = None
    v.conclusion, v.completed_at = v.decide_conclusion(), v.started_at
    await w.store.save_verification(v)

    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))

    (reply,) = replies(w)
    assert reply == texts.SIGNOFF_RUN_OTHER_COMMIT.format(
        user="sam-sre", run_id=9000, verification_id="v-0001", observed="no recorded commit", head=SHA
    )
    await w.store.close()


async def test_an_sre_may_not_approve_their_own_pull_request_unless_allowed(tmp_path: Path) -> None:
    w = await world(tmp_path)
    w.repo.pull_requests[42] = dataclasses.replace(w.repo.pull_requests[42], author="sam-sre")
    await finished(w)

    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))
    assert replies(w) == [texts.SIGNOFF_SELF.format(user="sam-sre", team="paws360/sre")]
    assert w.jira.moves == []

    allowed = dataclasses.replace(w.ctx.settings.authorization, allow_self_signoff=True)
    w = dataclasses.replace(
        w, ctx=dataclasses.replace(w.ctx, settings=dataclasses.replace(w.ctx.settings, authorization=allowed))
    )
    await w.handle(router, comment_event("/sre-signoff approve", user="sam-sre"))
    assert replies(w)[-1].startswith("## SRE sign-off: APPROVED")
    await w.store.close()
