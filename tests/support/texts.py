"""Asserting on the texts of `bot/texts` where a test cannot know every field: `pattern(template, **known)` is a
regular expression for the template filled in, the known fields as `str.format` renders them and any other field
as any text. Tests compare with the constants, so a reworded text changes one place.

assert pattern(texts.START_FAILED, user="alice-admin", error=reason).fullmatch(reply)
"""

from __future__ import annotations

import re
import string
from typing import Any

_FORMATTER = string.Formatter()


def pattern(template: str, **known: Any) -> re.Pattern[str]:
    """`template` with the `known` fields filled in; each other field matches one or more characters (any, newlines
    included). Use `fullmatch` for a whole reply, `search` for a part of a longer text."""
    parts: list[str] = []
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        parts.append(re.escape(literal))
        if field is None:
            continue
        if field in known:
            value = _FORMATTER.convert_field(known[field], conversion)
            parts.append(re.escape(_FORMATTER.format_field(value, spec or "")))
        else:
            parts.append("(?:.+?)")
    return re.compile("".join(parts), re.DOTALL)
