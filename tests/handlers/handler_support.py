"""Builds what the check-run and sign-off handlers are given: settings, the GitHub and engine fakes, a real store."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gidgethub import routing, sansio

from bot.envelope import Envelope
from bot.github.models import PullRequest
from bot.metrics import Metrics
from bot.store import Store
from handlers.context import HandlerContext
from tests.fakes.engine import FakeEngine
from tests.fakes.github import FakeGitHubApp, FakeGitHubRepo
from tests.fakes.jira import FakeJira
from tests.support.payloads import check_delivery, pr_comment
from tests.support.settings import example_settings
from tests.support.verifications import REPO, SHA


@dataclasses.dataclass
class World:
    ctx: HandlerContext
    repo: FakeGitHubRepo
    engine: FakeEngine
    jira: FakeJira
    store: Store

    async def handle(self, router: routing.Router, event: sansio.Event) -> None:
        """Dispatch `event` as the runtime does: with the context of its delivery, its envelope read once."""
        envelope = Envelope.read(event=event.event, delivery_id=event.delivery_id, data=event.data)
        await router.dispatch(event, self.ctx.for_delivery(envelope))


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[World]:
    """What a handler is given, with a pull request #42, alice-admin (admin), bob-reader (read) and sam-sre (admin,
    in paws360/sre); its store is closed after the test, passed or failed."""
    settings = example_settings(tmp_path)
    github = FakeGitHubApp()
    repo = github.repo(installation_id=1001, repository=REPO)
    repo.pull_requests[42] = PullRequest(42, "INFRA-473: runners", "open", SHA, "001-runners", REPO, REPO, None)
    repo.permissions.update({"alice-admin": "admin", "bob-reader": "read", "sam-sre": "admin"})
    repo.teams["paws360/sre"] = {"sam-sre"}
    store = await Store.open(settings.database)
    engine, jira = FakeEngine(), FakeJira()
    ctx = HandlerContext(settings=settings, github=github, engine=engine, store=store, metrics=Metrics(), jira=jira)
    try:
        yield World(ctx, repo, engine, jira, store)
    finally:
        await store.close()


def replies(w: World) -> list[str]:
    """What the bot said on the pull request, in order."""
    return [c.body for c in w.repo.comments.values()]


def comment_event(body: str, *, user: str, action: str = "created", user_type: str = "User") -> sansio.Event:
    data = pr_comment(body, user=user, action=action, user_type=user_type, comment_id=777)
    return sansio.Event(data, event="issue_comment", delivery_id="d-1")


def check_event(
    event: str, action: str, *, user: str, external_id: str = "", identifier: str | None = None
) -> sansio.Event:
    data = check_delivery(event, action, user=user, head_sha=SHA, external_id=external_id, identifier=identifier)
    return sansio.Event(data, event=event, delivery_id="d-2")
