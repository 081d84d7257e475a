"""Health probes of staging's HTTP endpoints (backend actuator, frontend home page) for the scenarios
(bot.ports.HttpProbe on aiohttp). Never raises: a refused connection or a timeout is an answer too."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp

from bot.ports import ProbeResult

#: Non-JSON bodies are kept only this long (they are shown in reports, never parsed).
MAX_TEXT = 2000


class AiohttpProbe:
    """bot.ports.HttpProbe. The session is created on first use and closed by `close()`."""

    def __init__(self, *, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session
        self._owned = session is None

    async def get(self, url: str, *, timeout: float) -> ProbeResult:
        began = time.monotonic()
        try:
            async with self._client().get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                text = await resp.text(errors="replace")
                body = _parse(text, resp.content_type)
                return ProbeResult(url, resp.status, body, None, time.monotonic() - began)
        except TimeoutError:
            return ProbeResult(url, None, None, f"timeout after {timeout:g}s", time.monotonic() - began)
        except aiohttp.ClientConnectorError as exc:
            return ProbeResult(url, None, None, f"connection refused ({exc.os_error})", time.monotonic() - began)
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a malformed URL in settings
            return ProbeResult(url, None, None, f"{type(exc).__name__}: {exc}", time.monotonic() - began)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._owned and self._session is not None:
            await self._session.close()


def _parse(text: str, content_type: str) -> Any:
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text[:MAX_TEXT]
