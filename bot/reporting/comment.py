"""One comment per verification, on its pull request (or, for a scheduled one, its environment's tracking issue):
created when it starts, edited in place as scenarios finish (never a flood)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import ScenarioStatus, Verification
from bot.ports import Clock, GitHubApp, GitHubRepo, ProgressEvent
from bot.reporting.comment_render import render_comment
from bot.reporting.throttle import Coalescer


@dataclass
class _Tracked:
    repo: GitHubRepo
    coalescer: Coalescer
    statuses: tuple[ScenarioStatus, ...]


class CommentReporter:
    """bot.ports.Reporter that keeps the verification's PR comment current."""

    def __init__(
        self, *, github: GitHubApp, clock: Clock, min_interval: float, base_url: str, signoff_team: str | None
    ) -> None:
        self._github = github
        self._clock = clock
        self._interval = min_interval
        self._base_url = base_url
        self._signoff_team = signoff_team
        self._tracked: dict[str, _Tracked] = {}
        self.bodies: dict[str, str] = {}

    def render(self, verification: Verification) -> str:
        return render_comment(verification, base_url=self._base_url, signoff_team=self._signoff_team)

    async def started(self, verification: Verification) -> None:
        tracked = self._track(verification)
        body = self.render(verification)
        conversation = verification.conversation
        if conversation is None:  # a scheduled verification whose tracking issue could not be had
            return
        # Always a new comment: a verification starts once, and an id already on the model may be the comment
        # that asked, which is the requester's to edit, not ours.
        verification.comment_id = await tracked.repo.create_comment(conversation, body)
        self.bodies[verification.verification_id] = body

    async def progress(self, event: ProgressEvent) -> None:
        tracked = self._tracked.get(event.verification.verification_id)
        if tracked is None:
            return
        statuses = tuple(s.status for s in event.verification.scenarios)
        # Steps are shown on the check runs; the comment changes only when a scenario concludes.
        finished = statuses.count(ScenarioStatus.COMPLETED) > tracked.statuses.count(ScenarioStatus.COMPLETED)
        if finished:
            tracked.statuses = statuses
            await tracked.coalescer.push()

    async def finished(self, verification: Verification) -> None:
        tracked = self._tracked.pop(verification.verification_id, None) or self._new(verification)
        try:
            await tracked.coalescer.final()
        finally:
            self.bodies.pop(verification.verification_id, None)

    def _track(self, verification: Verification) -> _Tracked:
        tracked = self._tracked.get(verification.verification_id)
        if tracked is None:
            tracked = self._tracked[verification.verification_id] = self._new(verification)
        return tracked

    def _new(self, verification: Verification) -> _Tracked:
        repo = self._github.repo(installation_id=verification.installation_id, repository=verification.repository)

        async def send() -> None:
            body = self.render(verification)
            conversation = verification.conversation
            if conversation is None:
                return
            if verification.comment_id is None:
                verification.comment_id = await repo.create_comment(conversation, body)
            elif body != self.bodies.get(verification.verification_id):
                await repo.update_comment(verification.comment_id, body)
            self.bodies[verification.verification_id] = body

        coalescer = Coalescer(clock=self._clock, interval=self._interval, send=send, name="pr comment")
        return _Tracked(repo=repo, coalescer=coalescer, statuses=tuple(s.status for s in verification.scenarios))
