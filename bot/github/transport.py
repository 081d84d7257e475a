"""How the GitHub client talks HTTP: the App JWT, bounded retries with capped waits, and request counting.

5xx answers and network errors are retried with exponential backoff; 403/429 rate-limit answers wait for
`Retry-After` or `x-ratelimit-reset`. Every wait is capped and goes through an injectable sleeper, and every request
sent (retries included) is counted on the tally of the verification it serves (bot/accounting.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiohttp
import jwt
from gidgethub import HTTPException
from gidgethub.aiohttp import GitHubAPI

from bot.accounting import count_request
from bot.ports import GitHubError

Sleeper = Callable[[float], Awaitable[None]]
USER_AGENT = "verify-staging"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` in all per request, waits capped at `max_wait` seconds."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0


def app_jwt(*, app_id: str, private_key: str, now: float | None = None) -> str:
    """The App's JWT: iat backdated 60 s against clock skew, exp 9 min ahead (GitHub allows at most 10)."""
    issued = int(time.time() if now is None else now)
    payload = {"iat": issued - 60, "exp": issued + 9 * 60, "iss": str(app_id)}
    return jwt.encode(payload, private_key, algorithm="RS256")


def retry_wait(exc: HTTPException, *, attempt: int, policy: RetryPolicy, now: float) -> float | None:
    """Seconds to wait before retrying this failure, or None when it is not worth retrying."""
    status = int(exc.status_code)
    headers = {k.lower(): v for k, v in exc.headers.items()}
    retry_after = headers.get("retry-after")
    remaining = headers.get("x-ratelimit-remaining")
    reset = headers.get("x-ratelimit-reset")
    rate_limited = status == 429 or (status == 403 and (retry_after is not None or remaining == "0"))
    if status < 500 and not rate_limited:
        return None
    if retry_after is not None and retry_after.strip().isdigit():
        wait = float(retry_after)
    elif rate_limited and remaining == "0" and reset is not None and reset.strip().isdigit():
        wait = float(reset) - now + 1
    else:
        wait = policy.backoff * 2 ** (attempt - 1)
    return max(0.0, min(wait, policy.max_wait))


class Transport(GitHubAPI):
    """gidgethub's aiohttp client plus counting, an injectable sleeper and bounded retries."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        policy: RetryPolicy,
        sleeper: Sleeper,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(session, USER_AGENT, base_url=base_url)
        self._policy = policy
        self._sleeper = sleeper
        self._clock = clock

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        for attempt in range(1, self._policy.attempts + 1):
            count_request()
            try:
                return await super()._request(method, url, headers, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == self._policy.attempts:
                    raise GitHubError(f"{method} {url} failed: {type(exc).__name__}", status=None) from None
                await self.sleep(min(self._policy.backoff * 2 ** (attempt - 1), self._policy.max_wait))
        raise AssertionError("unreachable")

    async def sleep(self, seconds: float) -> None:
        await self._sleeper(seconds)

    async def handle_rate_limit_error(self, *, method: str, url: str, exception: HTTPException, attempt: int) -> bool:
        if attempt >= self._policy.attempts:
            return False
        wait = retry_wait(exception, attempt=attempt, policy=self._policy, now=self._clock())
        if wait is None:
            return False
        await self.sleep(wait)
        return True
