"""The App webhook's delivery log as GitHub keeps it: one entry per delivery attempt (a redelivery is an attempt of
its own, with the same GUID and `redelivery: true`), listed newest first with cursor pagination.

GitHub ("List deliveries for an app webhook", "Redeliver a delivery for an app webhook"): each entry is a
`hook-delivery-item` (id, guid, delivered_at, redelivery, duration, status, status_code, event, action,
installation_id, repository_id, throttled_at); an attempt that got no HTTP answer (connection refused, timed out)
has status code 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: GitHub's delivery ids are large integers; starting high keeps them apart from every other id the lab hands out.
FIRST_ID = 90_000_000_001
CURSOR_PREFIX = "v1_"
#: What the App's answer (or its absence) reads as in GitHub's `status` field.
NO_ANSWER = "failed to connect to host"
TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Webhook:
    """What every attempt of one webhook shares: its GUID (`X-GitHub-Delivery`) and what it is about."""

    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None


@dataclass(frozen=True)
class Attempt:
    """One attempt to deliver a webhook to the App's webhook URL; `answer` is the App's HTTP status (None: none)."""

    id: int
    webhook: Webhook
    redelivery: bool
    delivered_at: datetime
    duration: float
    answer: int | None
    timed_out: bool

    @property
    def guid(self) -> str:
        return self.webhook.guid

    def json(self) -> dict[str, Any]:
        """GitHub's `hook-delivery-item`; an attempt that got no HTTP answer has status code 0."""
        return {
            "id": self.id,
            "guid": self.webhook.guid,
            "delivered_at": self.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "redelivery": self.redelivery,
            "duration": round(self.duration, 2),
            "status": status_text(self.answer, timed_out=self.timed_out),
            "status_code": self.answer or 0,
            "event": self.webhook.event,
            "action": self.webhook.action,
            "installation_id": self.webhook.installation_id,
            "repository_id": self.webhook.repository_id,
            "throttled_at": None,
        }


def status_text(status_code: int | None, *, timed_out: bool = False) -> str:
    """GitHub's description of an attempt's outcome, from the App's HTTP status (None: no answer)."""
    if status_code is None:
        return TIMED_OUT if timed_out else NO_ANSWER
    if 200 <= status_code < 300:
        return "OK"
    return f"Invalid HTTP Response: {status_code}"


class DeliveryLog:
    """Every attempt, in the order made; ids increase with time, so newest first is by descending id."""

    def __init__(self) -> None:
        self._ids = itertools.count(FIRST_ID)
        self.attempts: list[Attempt] = []
        self._by_id: dict[int, Attempt] = {}

    def record(
        self, webhook: Webhook, *, redelivery: bool, duration: float, answer: int | None, timed_out: bool
    ) -> Attempt:
        attempt = Attempt(
            id=next(self._ids),
            webhook=webhook,
            redelivery=redelivery,
            delivered_at=datetime.now(UTC),
            duration=duration,
            answer=answer,
            timed_out=timed_out,
        )
        self.attempts.append(attempt)
        self._by_id[attempt.id] = attempt
        return attempt

    def get(self, attempt_id: int) -> Attempt | None:
        return self._by_id.get(attempt_id)

    def page(self, *, cursor: str | None, per_page: int) -> tuple[list[Attempt], str | None]:
        """One page, newest first, starting after `cursor` (None: the newest); and the next page's cursor.

        Raises ValueError for a cursor this log did not hand out."""
        newest_first = sorted(self.attempts, key=lambda a: a.id, reverse=True)
        if cursor is not None:
            if not cursor.startswith(CURSOR_PREFIX) or not cursor[len(CURSOR_PREFIX) :].isdigit():
                raise ValueError(cursor)
            after = int(cursor[len(CURSOR_PREFIX) :])
            newest_first = [a for a in newest_first if a.id < after]
        chunk = newest_first[:per_page]
        more = len(newest_first) > per_page
        return chunk, (f"{CURSOR_PREFIX}{chunk[-1].id}" if more and chunk else None)
