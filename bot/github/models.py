"""Typed views of the GitHub objects the bot reads (workflow runs and jobs, runners, issues, pull requests), parsed
from REST answers and webhook payloads, which share these shapes; and `parses`/`PayloadError`, which turn a payload
of another shape into one error that the web server logs before dropping the delivery.

A delivery's shared fields are read in bot/envelope.py; each feature in handlers/ reads its own delivery's fields.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from bot.model import parse_ts

P = ParamSpec("P")
R = TypeVar("R")


class PayloadError(ValueError):
    """A webhook payload or REST answer lacks a field the bot reads, or holds it in another shape."""


def parses(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn any shape error while reading `what` into PayloadError, so a malformed delivery is dropped with a
    warning instead of surfacing as an unexplained crash of its handler."""

    def wrap(parse: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(parse)
        def parsed(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return parse(*args, **kwargs)
            except PayloadError:
                raise
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
                raise PayloadError(f"{what}: {type(exc).__name__}: {exc}") from exc

        return parsed

    return wrap


@dataclass(frozen=True)
class WorkflowRun:
    id: int
    name: str | None
    display_title: str | None
    event: str | None
    status: str | None
    conclusion: str | None
    head_sha: str | None
    head_branch: str | None
    path: str | None
    created_at: datetime | None
    updated_at: datetime | None
    run_started_at: datetime | None
    html_url: str | None

    @classmethod
    @parses("workflow run")
    def from_api(cls, d: dict[str, Any]) -> WorkflowRun:
        return cls(
            id=int(d["id"]),
            name=d.get("name"),
            display_title=d.get("display_title"),
            event=d.get("event"),
            status=d.get("status"),
            conclusion=d.get("conclusion"),
            head_sha=d.get("head_sha"),
            head_branch=d.get("head_branch"),
            path=d.get("path"),
            created_at=parse_ts(d.get("created_at")),
            updated_at=parse_ts(d.get("updated_at")),
            run_started_at=parse_ts(d.get("run_started_at")),
            html_url=d.get("html_url"),
        )


@dataclass(frozen=True)
class JobStep:
    name: str
    status: str | None
    conclusion: str | None
    number: int


@dataclass(frozen=True)
class WorkflowJob:
    id: int
    run_id: int
    name: str
    status: str | None
    conclusion: str | None
    labels: tuple[str, ...]
    runner_id: int | None
    runner_name: str | None
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    head_sha: str | None
    workflow_name: str | None
    steps: tuple[JobStep, ...] = field(default_factory=tuple)

    @classmethod
    @parses("workflow job")
    def from_api(cls, d: dict[str, Any]) -> WorkflowJob:
        return cls(
            id=int(d["id"]),
            run_id=int(d["run_id"]),
            name=str(d.get("name") or ""),
            status=_text(d.get("status")),
            conclusion=_text(d.get("conclusion")),
            labels=tuple(label for label in d.get("labels") or () if isinstance(label, str)),
            runner_id=d.get("runner_id") if isinstance(d.get("runner_id"), int) else None,
            # What the bot counts and renders by runner name: a hostile shape (a list, a number) is no name.
            runner_name=_text(d.get("runner_name")),
            created_at=parse_ts(d.get("created_at")),
            started_at=parse_ts(d.get("started_at")),
            completed_at=parse_ts(d.get("completed_at")),
            head_sha=_text(d.get("head_sha")),
            workflow_name=_text(d.get("workflow_name")),
            steps=tuple(
                JobStep(
                    name=str(s.get("name") or ""),
                    status=s.get("status"),
                    conclusion=s.get("conclusion"),
                    number=int(s.get("number") or 0),
                )
                for s in d.get("steps") or ()
            ),
        )


@dataclass(frozen=True)
class Runner:
    id: int
    name: str
    status: str  # "online" | "offline"
    busy: bool
    labels: tuple[str, ...]

    @property
    def online(self) -> bool:
        return self.status == "online"

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> Runner:
        return cls(
            id=int(d["id"]),
            name=str(d["name"]),
            status=str(d.get("status") or "offline"),
            busy=bool(d.get("busy")),
            labels=tuple(str(label["name"]) for label in d.get("labels") or ()),
        )


@dataclass(frozen=True)
class Issue:
    number: int
    title: str
    state: str
    labels: tuple[str, ...]
    created_at: datetime | None
    html_url: str | None
    is_pull_request: bool

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> Issue:
        return cls(
            number=int(d["number"]),
            title=str(d.get("title") or ""),
            state=str(d.get("state") or "open"),
            labels=tuple(str(label["name"]) for label in d.get("labels") or ()),
            created_at=parse_ts(d.get("created_at")),
            html_url=d.get("html_url"),
            is_pull_request="pull_request" in d,
        )


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    state: str
    head_sha: str
    head_ref: str
    head_repo: str | None  # owner/name of the head repository; differs from the base for a fork
    base_repo: str
    html_url: str | None
    author: str = ""  # `user.login`: who opened the pull request

    @property
    def from_fork(self) -> bool:
        return self.head_repo is None or self.head_repo.lower() != self.base_repo.lower()

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> PullRequest:
        head = d["head"]
        head_repo = head.get("repo")
        return cls(
            number=int(d["number"]),
            title=str(d.get("title") or ""),
            state=str(d.get("state") or "open"),
            head_sha=str(head["sha"]),
            head_ref=str(head["ref"]),
            head_repo=head_repo["full_name"] if head_repo else None,
            base_repo=str(d["base"]["repo"]["full_name"]),
            html_url=d.get("html_url"),
            author=str((d.get("user") or {}).get("login") or ""),
        )


def branch_ref(name: str) -> str:
    """The fully qualified ref of a branch: GitHub resolves a bare name to a tag first when both exist, so a tag
    named like the pull request's branch would otherwise be what a dispatch runs."""
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def branch_name(ref: str) -> str:
    """The branch a fully qualified ref names, for people to read (`refs/heads/main` -> `main`)."""
    return ref.removeprefix("refs/heads/")


def _text(value: object) -> str | None:
    """A string field as the bot uses it: a non-empty string, else None (whatever other shape a payload carries)."""
    return value if isinstance(value, str) and value else None
