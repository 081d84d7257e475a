"""Which pull-request comments are commands: a new comment by a person, on a pull request, through an installation.

Every comment command (`/verify-staging`, `/sre-signoff`) reads its delivery with `command_in_comment`, so they all
answer the same comments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from gidgethub import sansio

from bot.envelope import Envelope
from bot.github.models import PayloadError, parses
from bot.ports import GitHubRepo
from handlers.context import HandlerContext

C = TypeVar("C")


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


def command_in_comment(
    ctx: HandlerContext, event: sansio.Event, parse: Callable[[str], C | None]
) -> tuple[PullRequestComment, C, GitHubRepo] | None:
    """The delivery's comment, the command `parse` finds in it and a client of its repository; None when the
    comment is not one commands are read from, or holds no such command."""
    comment = PullRequestComment.read(ctx.envelope, event.data)
    if not should_handle_comment(comment):
        return None
    command = parse(comment.body)
    if command is None:
        return None
    assert comment.installation_id is not None
    return comment, command, ctx.github.repo(installation_id=comment.installation_id, repository=comment.repository)
