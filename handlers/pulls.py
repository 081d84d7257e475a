"""A push to a pull request, or closing it, while it is being verified: the verification stops at its next safe
point, restores what it stopped and is concluded `cancelled`, naming the new head, because its runs would no
longer prove anything about the commit that gets merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from gidgethub import routing, sansio

from bot.envelope import Envelope
from bot.github.models import PayloadError, parses
from bot.texts import reports as texts
from handlers.context import HandlerContext

router = routing.Router()
log = structlog.get_logger("handlers.pulls")


@dataclass(frozen=True)
class PullRequestChange:
    """The fields of a `pull_request` delivery this feature reads."""

    action: str
    repository: str
    number: int
    head_sha: str
    sender: str

    @classmethod
    @parses("pull_request delivery")
    def read(cls, envelope: Envelope, data: Mapping[str, Any]) -> PullRequestChange:
        """The change a delivery reports, its shared fields (`envelope`) read at ingress."""
        if envelope.action is None or envelope.repository is None:
            raise PayloadError("pull_request delivery: no action or repository")
        pull = data["pull_request"]
        return cls(
            action=envelope.action,
            repository=envelope.repository,
            number=int(data.get("number") or pull["number"]),
            # `synchronize` also carries `after`; `pull_request.head.sha` is in every action's payload.
            head_sha=str(pull["head"]["sha"]),
            sender=str((data.get("sender") or {}).get("login") or ""),
        )


@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="closed")
async def on_head_moved_or_closed(event: sansio.Event, ctx: HandlerContext) -> None:
    change = PullRequestChange.read(ctx.envelope, event.data)
    latest = await ctx.store.latest_verification(repository=change.repository, pull_request=change.number)
    if latest is None or latest.completed_at is not None:
        return
    if change.action == "synchronize" and change.head_sha == latest.head_sha:
        return  # a redelivery, or a push that left the head where the verification started
    template = texts.HEAD_MOVED_REASON if change.action == "synchronize" else texts.PULL_CLOSED_REASON
    reason = template.format(user=change.sender or "someone", sha=change.head_sha)
    stopped = await ctx.engine.abort(latest.verification_id, by=change.sender, reason=reason)
    log.info(
        "verification cancelled by pull request change" if stopped else "pull request changed, nothing running",
        action=change.action,
        verification=latest.verification_id,
        head_sha=change.head_sha,
    )
