"""Which pull-request comments are commands: a new comment by a person, on a pull request, through an installation.

Every comment command (`/verify-staging`, `/sre-signoff`) reads its delivery with `command_in_comment`, so they all
answer the same comments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import structlog
from gidgethub import sansio

from bot.envelope import Envelope
from bot.github.models import PayloadError, parses
from bot.model import parse_ts
from bot.ports import GitHubRepo
from bot.texts import commands as texts
from handlers.context import HandlerContext

C = TypeVar("C")
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PullRequestComment:
    """The fields of an `issue_comment` delivery the commands read."""

    action: str
    repository: str
    installation_id: int | None
    issue_number: int
    on_pull_request: bool
    comment_id: int
    body: str
    user: str
    user_type: str
    created_at: datetime | None = None

    @classmethod
    @parses("issue_comment delivery")
    def read(cls, envelope: Envelope, data: Mapping[str, Any]) -> PullRequestComment:
        """The comment of a delivery whose shared fields (`envelope`) were read at ingress."""
        if envelope.repository is None:
            raise PayloadError("issue_comment delivery: no repository")
        comment, issue = data["comment"], data["issue"]
        user = comment.get("user") or data.get("sender") or {}
        return cls(
            action=envelope.action or "",
            repository=envelope.repository,
            installation_id=envelope.installation_id,
            issue_number=int(issue["number"]),
            # GitHub marks a pull request's conversation by an `issue.pull_request` object.
            on_pull_request=bool(issue.get("pull_request")),
            comment_id=int(comment["id"]),
            body=str(comment.get("body") or ""),
            user=str(user.get("login") or ""),
            user_type=str(user.get("type") or ""),
            created_at=parse_ts(comment.get("created_at")),
        )


def is_bot(*, login: str, user_type: str) -> bool:
    """Apps (this one included) comment as `name[bot]` with type Bot; their comments are never commands."""
    return user_type == "Bot" or login.endswith("[bot]")


def should_handle_comment(comment: PullRequestComment) -> bool:
    """A newly created comment on a pull request, by a person, through an installation."""
    return (
        comment.action == "created"
        and comment.on_pull_request
        and comment.installation_id is not None
        and not is_bot(login=comment.user, user_type=comment.user_type)
    )


async def command_in_comment(
    ctx: HandlerContext, event: sansio.Event, parse: Callable[[str], C | None]
) -> tuple[PullRequestComment, C, GitHubRepo] | None:
    """The delivery's comment, the command `parse` finds in it and a client of its repository; None when the
    comment is not one commands are read from, or holds no such command, or is too old to run (its author is told).
    """
    comment = PullRequestComment.read(ctx.envelope, event.data)
    if not should_handle_comment(comment):
        return None
    command = parse(comment.body)
    if command is None:
        return None
    assert comment.installation_id is not None
    repo = ctx.github.repo(installation_id=comment.installation_id, repository=comment.repository)
    age = _age(ctx, comment)
    if age is not None and age > ctx.settings.authorization.command_max_age:
        log.info("stale command refused", user=comment.user, pull_request=comment.issue_number, age_s=round(age))
        await repo.create_comment(comment.issue_number, texts.STALE_COMMAND.format(user=comment.user, age=_ago(age)))
        return None
    return comment, command, repo


def _age(ctx: HandlerContext, comment: PullRequestComment) -> float | None:
    if ctx.clock is None or comment.created_at is None:
        return None
    return (ctx.clock.now() - comment.created_at).total_seconds()


def _ago(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{round(minutes / 60)} h"


#: A comment command's handler: the context, the comment, the command found in it and its repository's client.
CommandHandler = Callable[[HandlerContext, PullRequestComment, C, GitHubRepo], Awaitable[None]]


def comment_command(
    parse: Callable[[str], C | None],
) -> Callable[[CommandHandler[C]], Callable[[sansio.Event, HandlerContext], Awaitable[None]]]:
    """Registers as a router handler of `issue_comment` deliveries a function that is called only for a comment
    holding a command `parse` finds (`command_in_comment`), with that comment, command and repository."""

    def wrap(handler: CommandHandler[C]) -> Callable[[sansio.Event, HandlerContext], Awaitable[None]]:
        async def on_comment(event: sansio.Event, ctx: HandlerContext) -> None:
            found = await command_in_comment(ctx, event, parse)
            if found is not None:
                await handler(ctx, *found)

        on_comment.__name__ = on_comment.__qualname__ = handler.__name__
        return on_comment

    return wrap
