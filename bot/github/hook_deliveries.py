"""The App webhook's delivery log on GitHub, as the redelivery sweep reads it: each delivery attempt (typed), listed
newest first, and a request to redeliver one. Both endpoints take the App's JWT, not an installation token.

GitHub: "List deliveries for an app webhook" (`GET /app/hook/deliveries`, `per_page` ≤ 100, the next page's
`cursor` in the `Link` header) and "Redeliver a delivery for an app webhook"
(`POST /app/hook/deliveries/{delivery_id}/attempts`, 202). Each attempt is its own entry: a redelivery has a new id,
the same `guid` and `redelivery: true`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gidgethub import HTTPException

from bot.github.client import GitHubAppClient
from bot.github.models import parses
from bot.model import parse_ts
from bot.ports import GitHubError

#: The most GitHub serves on one page of the delivery log.
PAGE_SIZE = 100
#: A JWT is reused this long (it is valid for 9 minutes): signing one costs milliseconds of CPU on the event loop,
#: and a sweep may send a hundred requests.
JWT_REUSE = 300.0


@dataclass(frozen=True)
class HookDelivery:
    """One delivery attempt of one webhook (`guid`, the `X-GitHub-Delivery` the App received)."""

    id: int
    guid: str
    delivered_at: datetime | None
    redelivery: bool
    status_code: int  # 0: no HTTP answer (connection refused, timed out)
    status: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300

    @classmethod
    @parses("webhook delivery")
    def from_api(cls, d: dict[str, Any]) -> HookDelivery:
        answered = int(d.get("status_code") or 0)  # GitHub lists 0 when the App gave no HTTP answer
        return cls(
            id=int(d["id"]),
            guid=str(d["guid"]),
            delivered_at=parse_ts(d.get("delivered_at")),
            redelivery=bool(d.get("redelivery")),
            status_code=answered,
            status=str(d.get("status") or ""),
            event=str(d.get("event") or ""),
            action=d.get("action"),
            installation_id=d.get("installation_id"),
            repository_id=d.get("repository_id"),
        )


class AppHookDeliveries:
    """The delivery log of the App's webhook, through the App client's JWT and transport (retries, counting)."""

    def __init__(self, app: GitHubAppClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._app = app
        self._gh = app.transport()
        self._clock = clock
        self._jwt: tuple[str, float] | None = None

    def jwt(self) -> str:
        now = self._clock()
        if self._jwt is None or now - self._jwt[1] > JWT_REUSE:
            self._jwt = (self._app.jwt(), now)
        return self._jwt[0]

    async def newest_first(self) -> AsyncIterator[HookDelivery]:
        """Every attempt GitHub still lists, newest first; the caller stops iterating where it has seen enough, so
        only the pages it reads are fetched."""
        try:
            async for item in self._gh.getiter(
                "/app/hook/deliveries{?per_page}",
                {"per_page": PAGE_SIZE},
                jwt=self.jwt(),
                extra_headers=self._app.headers(),
            ):
                yield HookDelivery.from_api(item)
        except HTTPException as exc:
            raise GitHubError(f"listing webhook deliveries failed: {exc}", status=int(exc.status_code)) from None

    async def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to deliver this attempt's webhook again (same GUID, same payload)."""
        try:
            await self._gh.post(
                "/app/hook/deliveries/{id}/attempts",
                {"id": str(delivery_id)},
                data=b"",
                jwt=self.jwt(),
                extra_headers=self._app.headers(),
            )
        except HTTPException as exc:
            raise GitHubError(f"redelivery of {delivery_id} refused: {exc}", status=int(exc.status_code)) from None
