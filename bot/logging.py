"""Structured logs: JSON lines under `serve`, a readable console when a person watches a terminal.

Request-scoped ids (delivery, event, installation, verification) are bound with structlog's contextvars, so every
line a delivery causes carries them. Secrets registered at start-up are masked in every line, whichever field or
message they end up in, as a last line of defence behind "never log a secret".
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"


class _Redactor:
    """A structlog processor that replaces any registered secret value found in an event's values."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def register(self, secrets: Iterable[str | None]) -> None:
        # Short values would mask innocent text; real secrets (tokens, keys) are long.
        values = {s for s in secrets if s and len(s) >= 8}
        self._secrets = tuple(sorted(values | set(self._secrets), key=len, reverse=True))

    def _mask(self, value: object) -> object:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if not self._secrets:
            return event_dict
        for key, value in list(event_dict.items()):
            if not isinstance(value, int | float | bool) and value is not None:
                event_dict[key] = self._mask(value if isinstance(value, str | dict | list | tuple) else str(value))
        return event_dict


_redactor = _Redactor()


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Mask these values in every log line from now on (the private key's lines are registered one by one)."""
    values: list[str | None] = []
    for secret in secrets:
        values.append(secret)
        if secret and "\n" in secret:
            values.extend(line for line in secret.splitlines() if "-----" not in line)
    _redactor.register(values)


def configure_logging(*, json: bool | None = None, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Set up structlog (JSON when json is True, or when None and the stream is not a terminal)."""
    out = stream or sys.stderr
    as_json = not out.isatty() if json is None else json
    renderer: Any = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
