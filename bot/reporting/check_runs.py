"""Check runs on the pull request's head commit: one per selected scenario and one overall, updated live.

Each goes queued -> in_progress -> completed. Step progress is coalesced (see throttle.py); the overall run and
scenario starts/ends are sent at once. Check run ids are kept on the model (`ScenarioResult.check_run_id`,
`Verification.overall_check_run_id`); `external_id` says which verification and scenario a run belongs to, which
is how a button press (`requested_action`) or a re-run request finds its way back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.model import (
    ScenarioConclusion,
    ScenarioId,
    ScenarioResult,
    ScenarioStatus,
    Verification,
    VerificationConclusion,
)
from bot.ports import (
    CheckRunConclusion,
    CheckRunStatus,
    CheckRunUpdate,
    Clock,
    GitHubApp,
    GitHubRepo,
    NewCheckRun,
    ProgressEvent,
)
from bot.reporting import check_render
from bot.reporting.details_page import details_url
from bot.reporting.throttle import Coalescer
from bot.texts import reports as texts


def external_id(verification_id: str, scenario: ScenarioId | None = None) -> str:
    return verification_id if scenario is None else f"{verification_id}:{scenario.value}"


def parse_external_id(value: str) -> tuple[str, ScenarioId | None]:
    """(verification id, scenario or None for the overall run) from a check run's external_id."""
    verification_id, _, scenario = value.partition(":")
    if scenario:
        try:
            return verification_id, ScenarioId(scenario)
        except ValueError:
            return verification_id, None
    return verification_id, None


@dataclass
class _Tracked:
    repo: GitHubRepo
    scenarios: dict[ScenarioId, Coalescer] = field(default_factory=dict)
    shown_status: dict[ScenarioId, ScenarioStatus] = field(default_factory=dict)
    overall: Coalescer | None = None
    #: The conclusion each scenario's check run was completed with, so the verification's end can correct it.
    concluded: dict[ScenarioId, str] = field(default_factory=dict)


class CheckRunReporter:
    """bot.ports.Reporter that renders a verification as GitHub check runs."""

    def __init__(self, *, github: GitHubApp, clock: Clock, min_interval: float, public_url: str | None = None) -> None:
        self._github = github
        #: Where the details pages are served (`server.public_url`); None: check runs keep GitHub's default link.
        self._public_url = public_url
        self._clock = clock
        self._interval = min_interval
        self._tracked: dict[str, _Tracked] = {}

    async def started(self, verification: Verification) -> None:
        tracked = self._track(verification)
        repo = tracked.repo
        if verification.overall_check_run_id is None:
            verification.overall_check_run_id = await repo.create_check_run(
                NewCheckRun(
                    name=texts.CHECK_NAME,
                    head_sha=verification.head_sha,
                    status=CheckRunStatus.IN_PROGRESS,
                    external_id=external_id(verification.verification_id),
                    output=check_render.overall_output(verification),
                    actions=check_render.actions(running=True, any_failed=False),
                    started_at=verification.started_at,
                    details_url=self._details_url(verification),
                )
            )
        for scenario in verification.scenarios:
            if scenario.check_run_id is None:
                scenario.check_run_id = await repo.create_check_run(
                    NewCheckRun(
                        name=check_render.scenario_check_name(scenario),
                        head_sha=verification.head_sha,
                        status=CheckRunStatus.QUEUED,
                        external_id=external_id(verification.verification_id, scenario.id),
                        output=check_render.scenario_output(verification, scenario),
                        actions=check_render.actions(running=True, any_failed=False),
                        details_url=self._details_url(verification, scenario.id),
                    )
                )
            tracked.shown_status[scenario.id] = ScenarioStatus.QUEUED
        self._wire(verification, tracked)

    async def progress(self, event: ProgressEvent) -> None:
        verification = event.verification
        tracked = self._tracked.get(verification.verification_id)
        if tracked is None or event.scenario is None:
            return
        scenario = verification.scenario(event.scenario)
        coalescer = tracked.scenarios.get(scenario.id)
        if coalescer is None:
            return
        changed = tracked.shown_status.get(scenario.id) is not scenario.status
        tracked.shown_status[scenario.id] = scenario.status
        if scenario.status is ScenarioStatus.COMPLETED:
            await coalescer.final()
        elif changed:
            await coalescer.now()
        else:
            await coalescer.push()
        # The overall run counts finished scenarios: only a conclusion changes it.
        if changed and scenario.status is ScenarioStatus.COMPLETED and tracked.overall is not None:
            await tracked.overall.push()

    async def finished(self, verification: Verification) -> None:
        tracked = self._tracked.pop(verification.verification_id, None)
        if tracked is None:  # started elsewhere (e.g. before a restart): the ids on the model are enough
            tracked = _Tracked(repo=self._repo(verification))
            self._wire(verification, tracked)
        for coalescer in tracked.scenarios.values():
            await coalescer.final()
        for scenario in verification.scenarios:
            shown = tracked.concluded.get(scenario.id)
            if shown is not None and shown != _scenario_conclusion(verification, scenario):
                # Concluded before the verification was cancelled (the scenario the abort interrupted): the
                # verification's end decides what its check run says.
                await self._send_scenario(tracked.repo, verification, scenario, tracked)
        if tracked.overall is not None:
            await tracked.overall.final()

    # ----------------------------------------------------------------------------------------------- internals
    def _details_url(self, verification: Verification, scenario: ScenarioId | None = None) -> str | None:
        if self._public_url is None:
            return None
        url = details_url(self._public_url, verification.verification_id)
        return f"{url}#scenario-{scenario.value}" if scenario is not None else url

    def _repo(self, verification: Verification) -> GitHubRepo:
        return self._github.repo(installation_id=verification.installation_id, repository=verification.repository)

    def _track(self, verification: Verification) -> _Tracked:
        tracked = self._tracked.get(verification.verification_id)
        if tracked is None:
            tracked = self._tracked[verification.verification_id] = _Tracked(repo=self._repo(verification))
        return tracked

    def _wire(self, verification: Verification, tracked: _Tracked) -> None:
        for scenario in verification.scenarios:
            if scenario.check_run_id is not None and scenario.id not in tracked.scenarios:
                tracked.scenarios[scenario.id] = self._scenario_coalescer(tracked, verification, scenario)
        if verification.overall_check_run_id is not None and tracked.overall is None:
            tracked.overall = Coalescer(
                clock=self._clock,
                interval=self._interval,
                send=lambda: self._send_overall(tracked.repo, verification),
                name=texts.CHECK_NAME,
            )

    def _scenario_coalescer(self, tracked: _Tracked, verification: Verification, scenario: ScenarioResult) -> Coalescer:
        repo = tracked.repo
        return Coalescer(
            clock=self._clock,
            interval=self._interval,
            send=lambda: self._send_scenario(repo, verification, scenario, tracked),
            name=check_render.scenario_check_name(scenario),
        )

    async def _send_scenario(
        self, repo: GitHubRepo, verification: Verification, scenario: ScenarioResult, tracked: _Tracked
    ) -> None:
        assert scenario.check_run_id is not None  # only wired once created
        output = check_render.scenario_output(verification, scenario)
        finished = verification.conclusion is not None
        if scenario.status is ScenarioStatus.COMPLETED or finished:
            conclusion = tracked.concluded[scenario.id] = _scenario_conclusion(verification, scenario)
            await repo.update_check_run(
                scenario.check_run_id,
                CheckRunUpdate(
                    status=CheckRunStatus.COMPLETED,
                    conclusion=conclusion,
                    output=output,
                    actions=check_render.finished_actions(verification),
                    completed_at=scenario.completed_at or verification.completed_at or self._clock.now(),
                ),
            )
        else:
            await repo.update_check_run(scenario.check_run_id, CheckRunUpdate(status=scenario.status, output=output))

    async def _send_overall(self, repo: GitHubRepo, verification: Verification) -> None:
        assert verification.overall_check_run_id is not None
        output = check_render.overall_output(verification)
        if verification.conclusion is None:
            await repo.update_check_run(verification.overall_check_run_id, CheckRunUpdate(output=output))
            return
        await repo.update_check_run(
            verification.overall_check_run_id,
            CheckRunUpdate(
                status=CheckRunStatus.COMPLETED,
                conclusion=check_render.OVERALL_CONCLUSION[verification.conclusion],
                output=output,
                actions=check_render.finished_actions(verification),
                completed_at=verification.completed_at or self._clock.now(),
            ),
        )


def _scenario_conclusion(verification: Verification, scenario: ScenarioResult) -> CheckRunConclusion:
    cancelled = verification.conclusion is VerificationConclusion.CANCELLED
    if scenario.conclusion is None:
        # Never concluded: the verification ended around it (abort, crash, an earlier error).
        return CheckRunConclusion.CANCELLED if cancelled else CheckRunConclusion.SKIPPED
    stopped = scenario.conclusion in (ScenarioConclusion.SKIPPED, ScenarioConclusion.ERROR)
    if cancelled and stopped and all(x.ok for x in verification.restorations):
        # Cut short by the cancellation, not judged; unlike `skipped`, `cancelled` still blocks a merge. A failed
        # restoration keeps its `failure`: staging needs a person.
        return CheckRunConclusion.CANCELLED
    return check_render.CHECK_CONCLUSION[scenario.conclusion]
