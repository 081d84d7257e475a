"""Typed reading of a parsed YAML mapping, so that every bad setting is reported as one sentence with its key path.

`Node` wraps one mapping and knows where it sits (`environments.staging.thresholds`); each accessor checks one
value and raises SettingsError saying which key is wrong and what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit


class SettingsError(Exception):
    """A missing or invalid setting; the message is one sentence naming it and what is expected."""


_MISSING = object()


def shown(value: object) -> str:
    """How a wrong value appears in an error sentence (short, quoted like YAML would show a string)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Node:
    """One mapping of the settings file, with its dotted path for error messages."""

    def __init__(self, path: str, data: object) -> None:
        if not isinstance(data, dict):
            where = path or "The settings file"
            raise SettingsError(f"{where} must be a mapping of keys to values, got {shown(data)}.")
        self.path = path
        self.data: dict[object, object] = data

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def only(self, allowed: Iterable[str]) -> None:
        """Refuse keys this mapping does not know (typos would otherwise be silently ignored)."""
        names = list(allowed)
        for key in self.data:
            if key not in names:
                raise SettingsError(
                    f"{self.key_path(str(key))} is not a known setting; expected one of: {', '.join(names)}."
                )

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, *, expected: str) -> object:
        if key not in self.data:
            raise SettingsError(f"{self.key_path(key)} is missing; expected {expected}.")
        return self.data[key]

    def child(self, key: str, *, required: bool = True) -> Node:
        if not self.has(key):
            if required:
                raise SettingsError(f"{self.key_path(key)} is missing; expected a mapping.")
            return Node(self.key_path(key), {})
        return Node(self.key_path(key), self.data[key])

    def children(self, key: str, *, expected: str, required: bool = True) -> Iterator[tuple[str, Node]]:
        """(name, node) for each entry of a mapping of named mappings."""
        node = self.child(key, required=required)
        if required and not node.data:
            raise SettingsError(f"{node.path} must name at least one entry ({expected}).")
        for name, value in node.data.items():
            if not isinstance(name, str) or not name:
                raise SettingsError(f"{node.path} has a key {shown(name)}; expected {expected}.")
            yield name, Node(node.key_path(name), value)

    def items(self, key: str) -> Iterator[Node]:
        """Each mapping of a list of mappings, as runners[0], runners[1], ..."""
        value = self.raw(key, expected="a list")
        if not isinstance(value, list) or not value:
            raise SettingsError(f"{self.key_path(key)} must be a non-empty list, got {shown(value)}.")
        for i, item in enumerate(value):
            yield Node(f"{self.key_path(key)}[{i}]", item)

    def string(self, key: str, default: object = _MISSING, *, expected: str = "a non-empty string") -> str:
        if default is not _MISSING and key not in self.data:
            assert isinstance(default, str)
            return default
        value = self.raw(key, expected=expected)
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f"{self.key_path(key)} must be {expected}, got {shown(value)}.")
        return value

    def optional_string(self, key: str, *, expected: str = "a non-empty string or null") -> str | None:
        if self.data.get(key) is None:
            return None
        return self.string(key, expected=expected)

    def matching(self, key: str, pattern: re.Pattern[str], *, expected: str, optional: bool = False) -> str | None:
        if optional and self.data.get(key) is None:
            return None
        value = self.raw(key, expected=expected)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise SettingsError(f"{self.key_path(key)} must be {expected}, got {shown(value)}.")
        return value

    def choice(self, key: str, choices: Iterable[str], default: str | None = None) -> str:
        names = list(choices)
        if default is not None and key not in self.data:
            return default
        value = self.raw(key, expected=f"one of {', '.join(names)}")
        if value not in names:
            raise SettingsError(f"{self.key_path(key)} must be one of {', '.join(names)}, got {shown(value)}.")
        assert isinstance(value, str)
        return value

    def seconds(self, key: str, default: float | None = None) -> float:
        if default is not None and key not in self.data:
            return default
        value = self.raw(key, expected="a positive number of seconds")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingsError(f"{self.key_path(key)} must be a positive number of seconds, got {shown(value)}.")
        return float(value)

    def port(self, key: str, default: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise SettingsError(f"{self.key_path(key)} must be a TCP port number (1-65535), got {shown(value)}.")
        return value

    def url(self, key: str) -> str:
        value = self.raw(key, expected="an http(s) URL")
        if isinstance(value, str):
            parts = urlsplit(value)
            if parts.scheme in ("http", "https") and parts.netloc:
                return value
        raise SettingsError(f"{self.key_path(key)} must be an http(s) URL, got {shown(value)}.")

    def strings(
        self, key: str, default: tuple[str, ...] | None = None, *, allow_empty: bool = False
    ) -> tuple[str, ...]:
        if default is not None and key not in self.data:
            return default
        value = self.raw(key, expected="a list of strings")
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v for v in value)
            or not (value or allow_empty)
        ):
            raise SettingsError(f"{self.key_path(key)} must be a non-empty list of strings, got {shown(value)}.")
        return tuple(value)

    def string_map(self, key: str) -> dict[str, str]:
        node = self.child(key, required=False)
        result: dict[str, str] = {}
        for name, value in node.data.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise SettingsError(
                    f'{node.key_path(str(name))} must be a string (quote values such as "true"), got {shown(value)}.'
                )
            result[name] = value
        return result

    def count(self, key: str, default: int) -> int:
        """A positive whole number (a size, a number of workers or days)."""
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SettingsError(f"{self.key_path(key)} must be a positive whole number, got {shown(value)}.")
        return value
