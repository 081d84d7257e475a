"""Shared pieces for the reporting tests: a GitHub port that records what the bot asked of it, and results."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.model import (
    Criterion,
    JobRecord,
    Restoration,
    RunRecord,
    ScenarioConclusion,
    ScenarioId,
    ScenarioResult,
    ScenarioStatus,
    Step,
    StepOutcome,
    Verification,
)
from bot.ports import CheckRunAction, CheckRunOutput, GitHubError
from bot.settings import (
    AuthorizationSettings,
    GitHubSettings,
    JiraSettings,
    RepositorySettings,
    Secrets,
    Settings,
    SSHSettings,
)
from tests.fakes.clock import EPOCH, FakeClock
from tests.fakes.github import FakeGitHubRepo
from tests.fakes.jira import FakeJira

SHA = "a" * 40
REPO = "paws360/paws360"


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class RecordingRepo(FakeGitHubRepo):
    """The shared GitHub fake, also keeping every argument of the calls reports make (in `log`)."""

    log: list[Call] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)

    def _record(self, method: str, **args: Any) -> None:
        self.log.append(Call(method, args))
        if method in self.fail:
            self.calls.append(method)
            raise GitHubError(f"{method} failed", status=502)

    def of(self, method: str) -> list[Call]:
        return [c for c in self.log if c.method == method]

    def check_updates(self, check_run_id: int) -> list[Call]:
        return [c for c in self.of("update_check_run") if c.args["check_run_id"] == check_run_id]

    def body(self, comment_id: int | None) -> str:
        assert comment_id is not None
        return self.comments[comment_id].body

    async def create_comment(self, issue_number: int, body: str) -> int:
        self._record("create_comment", issue_number=issue_number, body=body)
        return await super().create_comment(issue_number, body)

    async def update_comment(self, comment_id: int, body: str) -> None:
        self._record("update_comment", comment_id=comment_id, body=body)
        await super().update_comment(comment_id, body)

    async def create_check_run(
        self,
        *,
        name: str,
        head_sha: str,
        status: str,
        external_id: str,
        output: CheckRunOutput,
        actions: Sequence[CheckRunAction] = (),
        details_url: str | None = None,
        started_at: datetime | None = None,
    ) -> int:
        self._record(
            "create_check_run",
            name=name,
            head_sha=head_sha,
            status=status,
            external_id=external_id,
            output=output,
            actions=list(actions),
        )
        return await super().create_check_run(
            name=name,
            head_sha=head_sha,
            status=status,
            external_id=external_id,
            output=output,
            actions=actions,
            details_url=details_url,
            started_at=started_at,
        )

    async def update_check_run(
        self,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        output: CheckRunOutput | None = None,
        actions: Sequence[CheckRunAction] | None = None,
        completed_at: datetime | None = None,
    ) -> None:
        self._record(
            "update_check_run",
            check_run_id=check_run_id,
            status=status,
            conclusion=conclusion,
            output=output,
            actions=None if actions is None else list(actions),
        )
        await super().update_check_run(
            check_run_id,
            status=status,
            conclusion=conclusion,
            output=output,
            actions=actions,
            completed_at=completed_at,
        )


@dataclass
class RecordingApp:
    repo_: RecordingRepo = field(default_factory=RecordingRepo)

    def repo(self, *, installation_id: int, repository: str) -> RecordingRepo:
        return self.repo_


def _t(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def new_verification(scenarios: Sequence[ScenarioId] = tuple(ScenarioId)) -> Verification:
    return Verification(
        verification_id="v-0001",
        installation_id=1001,
        repository=REPO,
        pull_request=42,
        head_sha=SHA,
        ref="001-github-runner-deploy",
        environment="staging",
        requested_by="alice-admin",
        scenarios=[ScenarioResult(id=s) for s in scenarios],
        started_at=EPOCH,
    )


def conclude(
    s: ScenarioResult,
    conclusion: ScenarioConclusion,
    *,
    start: float,
    runner: str = "production-runner-01",
    measurements: Mapping[str, float | None] | None = None,
) -> None:
    """Fill a scenario as the engine would once it has concluded."""
    s.status = ScenarioStatus.COMPLETED
    s.conclusion = conclusion
    s.started_at, s.completed_at = _t(start), _t(start + 12)
    passed = conclusion is ScenarioConclusion.PASSED
    s.criteria = [
        Criterion(
            "deployment_duration", "Deployment completes within the threshold", passed, 9.0 if passed else 31.5, 20, "s"
        ),
        Criterion("runner", "Deploy job ran on the expected runner", True, runner, runner),
    ]
    if not passed:
        s.reason = "Deployment took 31.5 s, over the 20 s threshold."
    s.steps = [
        Step("dispatch", _t(start), _t(start + 1), StepOutcome.OK),
        Step("observe", _t(start + 1), _t(start + 12), StepOutcome.OK),
    ]
    s.runs = [
        RunRecord(
            run_id=9000 + int(start),
            display_title=f"Deploy staging t-{int(start)}",
            status="completed",
            conclusion="success" if passed else "failure",
            created_at=_t(start + 1),
            jobs=[
                JobRecord(
                    job_id=70000 + int(start),
                    name="deploy",
                    run_id=9000 + int(start),
                    conclusion="success" if passed else "failure",
                    runner_name=runner,
                    labels=["self-hosted", "production", "primary"],
                    created_at=_t(start + 1),
                    started_at=_t(start + 2),
                    completed_at=_t(start + 11),
                )
            ],
        )
    ]
    s.measurements = dict(measurements or {"deployment_duration_s": 9.0 if passed else 31.5, "queue_s": 1.0})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app() -> RecordingApp:
    return RecordingApp()


@pytest.fixture
def jira() -> FakeJira:
    return FakeJira()


__all__ = ["REPO", "SHA", "Restoration", "conclude", "new_verification"]


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database=":memory:",
        github=GitHubSettings(repositories={REPO: RepositorySettings(environment="staging")}),
        authorization=AuthorizationSettings(signoff_team="paws360/sre"),
        jira=JiraSettings(issue="INFRA-473"),
        ssh=SSHSettings(user="deploy", hosts={}),
        environments={},
        secrets=Secrets(app_id="4242", private_key="unused", webhook_secret="unused", api_url="http://127.0.0.1:9"),
    )


async def settle() -> None:
    """Let tasks that are ready (a deferred update whose time has come) run to their next wait."""
    for _ in range(20):
        await asyncio.sleep(0)
