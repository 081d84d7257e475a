"""Shared pieces for the reporting tests: a GitHub port that records what the bot asked of it, settings, and the
handlers' world `w` (for the sign-off form's tests)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from bot.settings import AuthorizationSettings, JiraSettings, Settings
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHubRepo
from tests.fakes.jira import FakeJira
from tests.handlers.handler_support import w
from tests.support.settings import unit_settings

#: The shared GitHub fake records every call's arguments (`log`) and can fail chosen methods (`fail`).
RecordingRepo = FakeGitHubRepo


@dataclass
class RecordingApp:
    repo_: RecordingRepo = field(default_factory=RecordingRepo)

    def repo(self, *, installation_id: int, repository: str) -> RecordingRepo:
        return self.repo_


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app() -> RecordingApp:
    return RecordingApp()


@pytest.fixture
def jira() -> FakeJira:
    return FakeJira()


@pytest.fixture
def settings() -> Settings:
    return unit_settings(
        authorization=AuthorizationSettings(signoff_team="paws360/sre"),
        jira=JiraSettings(issue="INFRA-473"),
        api_url="http://127.0.0.1:9",
    )


async def settle() -> None:
    """Let tasks that are ready (a deferred update whose time has come) run to their next wait."""
    for _ in range(20):
        await asyncio.sleep(0)


__all__ = ["w"]
