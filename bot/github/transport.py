"""How the GitHub client talks HTTP: the App JWT, bounded retries with capped waits, and request counting.

5xx answers and network errors are retried with exponential backoff; 403/429 rate-limit answers wait for
`Retry-After` or `x-ratelimit-reset`. Every wait is capped and goes through an injectable sleeper, and every request
sent (retries included) is counted on the tally of the verification it serves (bot/accounting.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from gidgethub import HTTPException, RedirectionException, sansio
from gidgethub.aiohttp import GitHubAPI
from yarl import URL

from bot.accounting import count_request
from bot.ports import GitHubError

Sleeper = Callable[[float], Awaitable[None]]
USER_AGENT = "verify-staging"
#: A job's log is a few hundred KB at most for a deployment; anything far larger is refused, never cut short (an
#: error line past a cut would go unseen).
MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024

# Set while a request must not follow redirects (a download endpoint's 302 is read, not followed).
_NO_REDIRECTS: ContextVar[bool] = ContextVar("no_redirects", default=False)


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
                if _NO_REDIRECTS.get():
                    async with self._session.request(
                        method, url, headers=headers, data=body, allow_redirects=False
                    ) as response:
                        return response.status, response.headers, await response.read()
                return await super()._request(method, url, headers, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == self._policy.attempts:
                    raise GitHubError(f"{method} {url} failed: {type(exc).__name__}", status=None) from None
                await self.sleep(min(self._policy.backoff * 2 ** (attempt - 1), self._policy.max_wait))
        raise AssertionError("unreachable")

    async def sleep(self, seconds: float) -> None:
        await self._sleeper(seconds)

    async def download(
        self, url: str, url_vars: Mapping[str, Any], *, oauth_token: str, extra_headers: dict[str, str]
    ) -> str:
        """The text behind one of GitHub's download endpoints (a job's logs, an archive), which answer `302` with a
        short-lived signed URL on another host.

        The redirect is read, not followed: the signed URL is fetched with a plain request that carries no
        `Authorization` header, so the installation token never reaches the storage host (aiohttp keeps the
        header on a redirect within one origin, and GitHub Enterprise Server may serve both from one host).
        """
        token = _NO_REDIRECTS.set(True)
        try:
            # gidgethub annotates the body as bytes, but hands it back decoded by its content type.
            answer = await self._make_request(
                "GET", url, url_vars, b"", sansio.accept_format(), oauth_token=oauth_token, extra_headers=extra_headers
            )
            data: object = answer[0]
        except RedirectionException as exc:
            location = {k.lower(): v for k, v in exc.headers.items()}.get("location")
            if not location:
                raise GitHubError(f"GET {url} answered {int(exc.status_code)}, no Location", status=None) from None
            # GitHub's Location is absolute; a relative one is resolved against the API URL, as a browser would.
            absolute = URL(sansio.format_url(url, url_vars, base_url=self.base_url)).join(URL(location, encoded=True))
            return await self._fetch_signed(str(absolute))
        finally:
            _NO_REDIRECTS.reset(token)
        # Answered directly (not GitHub's documented 302): the body is the text.
        return data if isinstance(data, str) else "" if data is None else str(data)

    async def _fetch_signed(self, url: str) -> str:
        """GET a signed URL with no credentials; 5xx and network errors are retried like every other call.

        Not counted on the tally: it goes to GitHub's storage, not its REST API (nor its rate limit)."""
        target = URL(url, encoded=True)  # byte-exact: re-quoting would break the signature
        for attempt in range(1, self._policy.attempts + 1):
            last = attempt == self._policy.attempts
            try:
                async with self._session.get(target, headers={"User-Agent": USER_AGENT}) as response:
                    if response.status == 200:
                        raw = bytearray()
                        async for chunk in response.content.iter_chunked(64 * 1024):
                            raw += chunk
                            if len(raw) > MAX_DOWNLOAD_BYTES:
                                raise GitHubError(f"the download exceeds {MAX_DOWNLOAD_BYTES} bytes", status=None)
                        return raw.decode(response.charset or "utf-8", errors="replace")
                    if response.status < 500 or last:
                        raise GitHubError(f"the signed download answered {response.status}", status=response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                if last:
                    raise GitHubError(f"the signed download failed: {type(exc).__name__}", status=None) from None
            await self.sleep(min(self._policy.backoff * 2 ** (attempt - 1), self._policy.max_wait))
        raise AssertionError("unreachable")

    async def handle_rate_limit_error(self, *, method: str, url: str, exception: HTTPException, attempt: int) -> bool:
        if attempt >= self._policy.attempts:
            return False
        wait = retry_wait(exception, attempt=attempt, policy=self._policy, now=self._clock())
        if wait is None:
            return False
        await self.sleep(wait)
        return True
