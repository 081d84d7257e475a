"""GitHub Actions concurrency groups: per group one running and, by default, one pending run or job.

GitHub (docs "Control the concurrency of workflows and jobs"): a newcomer to a busy group becomes pending; a newer
arrival cancels the pending one ("Canceling since a higher priority waiting request for <group> exists");
`cancel-in-progress: true` also cancels the running one; `queue: max` keeps up to 100 pending, served in arrival
order, and cancels any beyond that. Group names compare case-insensitively.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_PENDING = 100
Member = tuple[str, int]  # ("run", run id) or ("job", job id)


def cancel_message(group: str) -> str:
    return f"Canceling since a higher priority waiting request for {group} exists"


@dataclass(frozen=True)
class GroupSpec:
    group: str
    cancel_in_progress: bool = False
    queue_max: bool = False

    @classmethod
    def parse(cls, raw: Any) -> GroupSpec | None:
        """`concurrency:` as a string (the group) or a mapping {group, cancel-in-progress, queue}; already
        substituted."""
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            return cls(group=raw)
        if isinstance(raw, dict):
            queue = str(raw.get("queue", "single")).lower()
            cancel = raw.get("cancel-in-progress", False)
            cancel_flag = cancel is True or str(cancel).lower() == "true"
            if queue == "max" and cancel_flag:
                raise ValueError("concurrency: queue: max cannot be combined with cancel-in-progress: true")
            return cls(group=str(raw["group"]), cancel_in_progress=cancel_flag, queue_max=queue == "max")
        raise ValueError(f"concurrency must be a string or a mapping, got {raw!r}")


@dataclass(frozen=True)
class Admission:
    """What joining a group decided: start now or wait, and which earlier members must be cancelled."""

    start: bool
    cancel: tuple[tuple[Member, str], ...] = ()  # (member, message)


@dataclass
class _Group:
    running: Member | None = None
    pending: deque[Member] = field(default_factory=deque)


class Groups:
    """The concurrency groups of one repository. Members are ("run", id) or ("job", id)."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}

    def admit(self, spec: GroupSpec, member: Member) -> Admission:
        group = self._groups.setdefault(spec.group.lower(), _Group())
        if group.running is None and not group.pending:
            group.running = member
            return Admission(start=True)
        message = cancel_message(spec.group)
        if spec.cancel_in_progress:
            cancelled = [*([group.running] if group.running is not None else []), *group.pending]
            group.pending.clear()
            group.running = member
            return Admission(start=True, cancel=tuple((m, message) for m in cancelled))
        if spec.queue_max:
            if len(group.pending) >= MAX_PENDING:
                return Admission(start=False, cancel=((member, message),))
            group.pending.append(member)
            return Admission(start=False)
        displaced = tuple((m, message) for m in group.pending)
        group.pending.clear()
        group.pending.append(member)
        return Admission(start=False, cancel=displaced)

    def release(self, group_name: str, member: Member) -> Member | None:
        """`member` finished (or was cancelled): returns the pending member that starts now, if any."""
        group = self._groups.get(group_name.lower())
        if group is None:
            return None
        if member in group.pending:
            group.pending.remove(member)
            return None
        if group.running != member:
            return None
        group.running = group.pending.popleft() if group.pending else None
        if group.running is None:
            del self._groups[group_name.lower()]
        return group.running
