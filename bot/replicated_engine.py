"""The engine as the handlers see it when replicas share the database: a verification another replica runs counts
as running here too, and aborting it reaches that replica (through bot/relay.py), whichever replica GitHub sent the
`/verify-staging abort`, the button or the push to."""

from __future__ import annotations

from bot.github.models import WorkflowJob, WorkflowRun
from bot.ports import Engine, VerificationRequest
from bot.relay import EventRelay


class ReplicatedEngine:
    """bot.ports.Engine over this replica's engine and the other replicas' (seen through the database)."""

    def __init__(self, engine: Engine, relay: EventRelay) -> None:
        self._engine = engine
        self._relay = relay

    async def start(self, request: VerificationRequest) -> None:
        await self._engine.start(request)

    async def abort(self, verification_id: str, *, by: str, reason: str | None = None) -> bool:
        if await self._engine.abort(verification_id, by=by, reason=reason):
            return True
        if verification_id not in await self._relay.owned_elsewhere():
            return False
        await self._relay.publish_abort(verification_id=verification_id, by=by, reason=reason)
        return True

    def running(self, environment: str) -> str | None:
        return self._engine.running(environment) or self._relay.running_elsewhere.get(environment)

    def observe_run(self, *, installation_id: int, repository: str, run: WorkflowRun) -> None:
        self._engine.observe_run(installation_id=installation_id, repository=repository, run=run)

    def observe_job(self, *, installation_id: int, repository: str, job: WorkflowJob) -> None:
        self._engine.observe_job(installation_id=installation_id, repository=repository, job=job)
