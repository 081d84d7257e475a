"""Lossless JSON for a Verification, so a verification survives a restart of the bot exactly as it was.

The conversion follows the dataclass type hints of bot/model.py, so a field added to the model is stored without
touching this module. Datetimes keep their microseconds and their offset.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from bot.model import Verification


def verification_to_json(verification: Verification) -> str:
    """The whole verification as one JSON document."""
    return json.dumps(_encode(verification), sort_keys=True)


def verification_from_json(text: str) -> Verification:
    """The inverse of verification_to_json (raises ValueError on a document of the wrong shape)."""
    value = _decode(Verification, json.loads(text))
    assert isinstance(value, Verification)
    return value


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k.value if isinstance(k, Enum) else k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, raw: object) -> object:
    if tp is Any or tp is object:
        return raw
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        if raw is None and type(None) in args:
            return None
        last_error: Exception | None = None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _decode(arg, raw)
            except (TypeError, ValueError) as exc:
                last_error = exc
        raise ValueError(f"no member of {tp} accepts {raw!r}") from last_error
    if origin is list:
        return [_decode(args[0], v) for v in _as_list(raw)]
    if origin is tuple:
        return tuple(_decode(args[0], v) for v in _as_list(raw))
    if origin is dict:
        if not isinstance(raw, dict):
            raise ValueError(f"expected an object, got {raw!r}")
        return {_decode(args[0], k): _decode(args[1], v) for k, v in raw.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            if not isinstance(raw, dict):
                raise ValueError(f"expected an object for {tp.__name__}, got {raw!r}")
            hints = _hints(tp)
            kwargs = {f.name: _decode(hints[f.name], raw[f.name]) for f in dataclasses.fields(tp) if f.name in raw}
            return tp(**kwargs)
        if issubclass(tp, Enum):
            return tp(raw)
        if tp is datetime:
            if not isinstance(raw, str):
                raise ValueError(f"expected a timestamp, got {raw!r}")
            return datetime.fromisoformat(raw)
        if tp is float and isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, tp):
            return raw
        raise ValueError(f"expected {tp.__name__}, got {raw!r}")
    return raw


def _as_list(raw: object) -> list[object]:
    if not isinstance(raw, list):
        raise ValueError(f"expected a list, got {raw!r}")
    return raw
