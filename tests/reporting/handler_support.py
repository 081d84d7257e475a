"""Builds what the check-run and sign-off handlers are given: settings, the GitHub and engine fakes, a real store."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub import routing, sansio

from bot.envelope import Envelope
from bot.github_models import PullRequest
from bot.metrics import Metrics
from bot.settings import Settings, load_settings
from bot.store import Store
from handlers.context import HandlerContext
from tests.fakes.engine import FakeEngine
from tests.fakes.github import FakeGitHubApp, FakeGitHubRepo
from tests.fakes.jira import FakeJira
from tests.paths import WEBHOOK_PAYLOADS

from .conftest import REPO, SHA

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "settings.example.yml"


def example_settings(tmp_path: Path) -> Settings:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "id").write_text("unused\n")
    (tmp_path / "known_hosts").write_text("")
    env = {
        "GITHUB_APP_ID": "4242",
        "GITHUB_PRIVATE_KEY": pem.decode(),
        "GITHUB_WEBHOOK_SECRET": "unused",
        "SSH_KEY_PATH": str(tmp_path / "id"),
        "SSH_KNOWN_HOSTS": str(tmp_path / "known_hosts"),
    }
    return dataclasses.replace(load_settings(str(EXAMPLE), env), database=str(tmp_path / "bot.db"))


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


async def world(tmp_path: Path) -> World:
    settings = example_settings(tmp_path)
    github = FakeGitHubApp()
    repo = github.repo(installation_id=1001, repository=REPO)
    repo.pull_requests[42] = PullRequest(42, "INFRA-473: runners", "open", SHA, "001-runners", REPO, REPO, None)
    repo.permissions.update({"alice-admin": "admin", "bob-reader": "read", "sam-sre": "admin"})
    repo.teams["paws360/sre"] = {"sam-sre"}
    store = await Store.open(settings.database)
    engine, jira = FakeEngine(), FakeJira()
    ctx = HandlerContext(settings=settings, github=github, engine=engine, store=store, metrics=Metrics(), jira=jira)
    return World(ctx, repo, engine, jira, store)


def comment_event(body: str, *, user: str, action: str = "created", user_type: str = "User") -> sansio.Event:
    data: dict[str, Any] = {
        "action": action,
        "repository": {"full_name": REPO},
        "installation": {"id": 1001},
        "issue": {"number": 42, "pull_request": {"url": "x"}},
        "comment": {"id": 777, "body": body, "user": {"login": user, "type": user_type}},
        "sender": {"login": user, "type": user_type},
    }
    return sansio.Event(data, event="issue_comment", delivery_id="d-1")


def check_event(
    event: str, action: str, *, user: str, external_id: str = "", identifier: str | None = None
) -> sansio.Event:
    """A `check_run` / `check_suite` delivery as GitHub sent it (the captured example), pointed at our pull request."""
    data: dict[str, Any] = json.loads((WEBHOOK_PAYLOADS / event / f"{action}.payload.json").read_text())
    data["repository"]["full_name"] = REPO
    data["installation"] = {**data["installation"], "id": 1001}
    data["sender"] = {**data["sender"], "login": user}
    check = data[event]
    check.update(external_id=external_id, head_sha=SHA)
    # GitHub lists the pull requests whose head is the check's commit; the captured re-request lists none.
    check["pull_requests"] = [{**(check["pull_requests"] or [{}])[0], "number": 42}]
    if identifier is not None:
        data["requested_action"] = {"identifier": identifier}
    return sansio.Event(data, event=event, delivery_id="d-2")
