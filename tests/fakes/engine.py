"""An Engine stand-in (bot.ports.Engine): records requests, observed runs/jobs and aborts; `busy` marks an
environment as running a verification; `refusal` makes start() refuse."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.github.models import WorkflowJob, WorkflowRun
from bot.ports import VerificationRequest


@dataclass
class FakeEngine:
    started: list[VerificationRequest] = field(default_factory=list)
    runs: list[WorkflowRun] = field(default_factory=list)
    jobs: list[WorkflowJob] = field(default_factory=list)
    aborted: list[tuple[str, str]] = field(default_factory=list)
    abort_reasons: list[str | None] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)  # environment -> verification id
    stopped: bool = False
    #: Raised by the next start, as the engine refuses (e.g. scenarios.EngineBusy: an undo pending on a host).
    refusal: Exception | None = None

    async def start(self, request: VerificationRequest) -> None:
        if self.refusal is not None:
            raise self.refusal
        self.started.append(request)
        self.busy[request.environment] = request.verification_id

    async def abort(self, verification_id: str, *, by: str, reason: str | None = None) -> bool:
        if verification_id not in self.busy.values():
            return False
        self.aborted.append((verification_id, by))
        self.abort_reasons.append(reason)
        return True

    def observe_run(self, *, installation_id: int, repository: str, run: WorkflowRun) -> None:
        self.runs.append(run)

    def observe_job(self, *, installation_id: int, repository: str, job: WorkflowJob) -> None:
        self.jobs.append(job)

    def running(self, environment: str) -> str | None:
        return self.busy.get(environment)

    async def stop(self) -> None:
        self.stopped = True
