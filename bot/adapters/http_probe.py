"""Health probes of staging's HTTP endpoints (backend actuator, frontend home page) for the scenarios
(bot.ports.HttpProbe on aiohttp). Never raises: a refused connection or a timeout is an answer too.

The Actuator answers are read here, at the edge, so the scenarios see a typed Health and version, never raw JSON.
"""

from __future__ import annotations

import json
import time

import aiohttp

from bot.ports import Health, ProbeResult


class AiohttpProbe:
    """bot.ports.HttpProbe. The session is created on first use and closed by `close()`."""

    def __init__(self, *, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session
        self._owned = session is None

    async def get(self, url: str, *, timeout: float) -> ProbeResult:
        answer, _ = await self._fetch(url, timeout=timeout)
        return answer

    async def health(self, url: str, *, timeout: float) -> Health:
        return actuator_health(*await self._fetch(url, timeout=timeout))

    async def version(self, url: str, *, timeout: float) -> str | None:
        _, body = await self._fetch(url, timeout=timeout)
        return actuator_version(body)

    async def _fetch(self, url: str, *, timeout: float) -> tuple[ProbeResult, object]:
        """The answer, and its body parsed when it was JSON (else None)."""
        began = time.monotonic()
        try:
            async with self._client().get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                text = await resp.text(errors="replace")
                return ProbeResult(url, resp.status, None, time.monotonic() - began), _json(text, resp.content_type)
        except TimeoutError:
            return ProbeResult(url, None, f"timeout after {timeout:g}s", time.monotonic() - began), None
        except aiohttp.ClientConnectorError as exc:
            return ProbeResult(url, None, f"connection refused ({exc.os_error})", time.monotonic() - began), None
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a malformed URL in settings
            return ProbeResult(url, None, f"{type(exc).__name__}: {exc}", time.monotonic() - began), None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._owned and self._session is not None:
            await self._session.close()


def actuator_health(answer: ProbeResult, body: object) -> Health:
    """Health from an answer of `/actuator/health` and its JSON body (`{"status": "UP", "components": {"db":
    {"status": "UP"}}}`); a body in another shape reads as its HTTP status, without components."""
    if answer.status is None:
        return Health(False, None, {}, answer.error)
    fields = body if isinstance(body, dict) else {}
    listed = fields.get("components")
    components = {
        str(name): str(component.get("status"))
        for name, component in (listed if isinstance(listed, dict) else {}).items()
        if isinstance(component, dict)
    }
    status = fields.get("status")
    return Health(True, str(status) if status is not None else f"HTTP {answer.status}", components, None)


def actuator_version(body: object) -> str | None:
    """`build.version` of an `/actuator/info` JSON body, or `version` of a plain `{"version": ...}` body (what a
    frontend's `version_url` serves); None when it has neither."""
    fields = body if isinstance(body, dict) else {}
    build = fields.get("build")
    version = build.get("version") if isinstance(build, dict) else fields.get("version")
    return str(version) if version is not None and not isinstance(version, dict | list) else None


def _json(text: str, content_type: str) -> object:
    if "json" in content_type:
        try:
            parsed: object = json.loads(text)
            return parsed
        except ValueError:
            pass
    return None
