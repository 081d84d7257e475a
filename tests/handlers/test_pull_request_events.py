"""A push to the pull request (or closing it) while it is being verified, through the front door: a signed
`pull_request` delivery (GitHub's captured example, pointed at our repository) cancels the verification."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.model import ScenarioId
from bot.texts import reports as texts
from tests.bot.conftest import Bot
from tests.bot.github_api import REPOSITORY
from tests.support.payloads import load_fixture
from tests.support.verifications import new_verification

VERIFIED = "a" * 40
PUSHED = "c0ffee" + "1" * 34


def pull_request_event(action: str, *, head: str, user: str = "mallory-author") -> dict[str, Any]:
    payload = load_fixture(f"pull_request/{action}.payload.json")
    payload["repository"]["full_name"] = REPOSITORY
    payload["installation"] = {"id": 1001, "node_id": "x"}
    payload["number"] = payload["pull_request"]["number"] = 42
    payload["pull_request"]["head"]["sha"] = head
    if action == "synchronize":
        payload["before"], payload["after"] = VERIFIED, head
    payload["sender"] = {**payload["sender"], "login": user}
    return payload


async def running_verification(bot: Bot, verification_id: str = "vs-running") -> None:
    # The verification the engine is running: of this pull request, at the commit that was asked for.
    v = dataclasses.replace(
        new_verification((ScenarioId.FAILOVER,)), verification_id=verification_id, head_sha=VERIFIED
    )
    await bot.runtime.store.save_verification(v)
    bot.engine.busy["staging"] = verification_id


async def test_a_push_during_a_verification_cancels_it_naming_the_new_head(bot: Bot) -> None:
    await running_verification(bot)
    status, _ = await bot.deliver("pull_request", pull_request_event("synchronize", head=PUSHED))
    await bot.settle()
    assert status == 202
    assert bot.engine.aborted == [("vs-running", "mallory-author")]
    reason = texts.HEAD_MOVED_REASON.format(user="mallory-author", sha=PUSHED)
    assert bot.engine.abort_reasons == [reason]
    assert PUSHED in reason


async def test_closing_the_pull_request_cancels_its_verification(bot: Bot) -> None:
    await running_verification(bot)
    await bot.deliver("pull_request", pull_request_event("closed", head=VERIFIED))
    await bot.settle()
    assert bot.engine.aborted == [("vs-running", "mallory-author")]
    assert bot.engine.abort_reasons == [texts.PULL_CLOSED_REASON.format(user="mallory-author", sha=VERIFIED)]


async def test_a_synchronize_that_leaves_the_verified_head_or_finds_nothing_running_changes_nothing(bot: Bot) -> None:
    await bot.deliver("pull_request", pull_request_event("synchronize", head=PUSHED))  # nothing verified yet
    await running_verification(bot)
    await bot.deliver("pull_request", pull_request_event("synchronize", head=VERIFIED))  # head where it started
    await bot.settle()
    assert bot.engine.aborted == []
    assert bot.command_requests() == []  # a push costs no GitHub request
