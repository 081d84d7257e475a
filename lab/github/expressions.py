"""The part of GitHub Actions' expression language that lab workflows use: `${{ ... }}` substitution with the
`inputs`, `github`, `needs`, `steps`, `env`, `vars` contexts, `==`/`!=`, `&&`/`||`/`!`, parentheses, literals, and
the status functions `success()`, `failure()`, `always()`, `cancelled()` plus `contains()`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_TEMPLATE = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!()<>,])|(?P<name>[A-Za-z_][\w\-.*]*))"
)


class ExpressionError(ValueError):
    """An expression the lab cannot evaluate."""


@dataclass(frozen=True)
class JobStatus:
    """What the status functions see: the results of the job's transitive needs and the run's cancellation."""

    needs_results: tuple[str, ...] = ()
    run_cancelled: bool = False


def to_text(value: Any) -> str:
    """GitHub's string coercion: null -> '', booleans lower case."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(text: str, context: Mapping[str, Any], *, keep: tuple[str, ...] = ()) -> str:
    """Replace every `${{ expr }}` in `text` with its value as text; expressions that mention a context named in
    `keep` (e.g. `steps`, known only on the runner) are left for a later pass."""

    def one(match: re.Match[str]) -> str:
        if any(re.search(rf"\b{name}\.", match.group(1)) for name in keep):
            return match.group(0)
        return to_text(evaluate(match.group(1), context))

    return _TEMPLATE.sub(one, text)


def substitute_all(value: Any, context: Mapping[str, Any], *, keep: tuple[str, ...] = ()) -> Any:
    """Substitute inside strings, lists and mappings (a `with:` block, `runs-on`)."""
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value.strip())
        if whole and not any(re.search(rf"\b{name}\.", whole.group(1)) for name in keep):
            return evaluate(whole.group(1), context)
        return substitute(value, context, keep=keep)
    if isinstance(value, list):
        return [substitute_all(v, context, keep=keep) for v in value]
    if isinstance(value, dict):
        return {k: substitute_all(v, context, keep=keep) for k, v in value.items()}
    return value


def evaluate_condition(text: str | bool | None, context: Mapping[str, Any], status: JobStatus) -> bool:
    """A job's `if:`. Absent means `success()`; without a status function, `success() && (...)` is implied."""
    if text is None:
        text = "success()"
    if isinstance(text, bool):
        return text
    expr = text.strip()
    whole = _TEMPLATE.fullmatch(expr)
    if whole:
        expr = whole.group(1)
    if not re.search(r"\b(success|failure|always|cancelled)\s*\(", expr):
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, context, status))


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", "false")


def evaluate(text: str, context: Mapping[str, Any], status: JobStatus | None = None) -> Any:
    parser = _Parser(_tokens(text), context, status or JobStatus())
    value = parser.or_()
    if parser.pos != len(parser.tokens):
        raise ExpressionError(f"unexpected {parser.tokens[parser.pos][1]!r} in {text!r}")
    return value


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.lastgroup is None:
            raise ExpressionError(f"cannot read {text[pos:]!r}")
        out.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: Mapping[str, Any], status: JobStatus) -> None:
        self.tokens = tokens
        self.pos = 0
        self.context = context
        self.status = status

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ExpressionError("unexpected end of expression")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {token[1]!r}")
        self.pos += 1
        return token

    def _chain(self, ops: tuple[str, ...], operand: Callable[[], Any], combine: Callable[[str, Any, Any], Any]) -> Any:
        """Left-associative operators of one precedence level; both sides are always parsed (and so evaluated)."""
        left = operand()
        while self._peek() in ops:
            op = self._take()[1]
            left = combine(op, left, operand())
        return left

    def or_(self) -> Any:
        return self._chain(("||",), self.and_, lambda _, left, right: left if truthy(left) else right)

    def and_(self) -> Any:
        return self._chain(("&&",), self.compare, lambda _, left, right: right if truthy(left) else left)

    def compare(self) -> Any:
        def equality(op: str, left: Any, right: Any) -> bool:
            equal = _loose(left) == _loose(right)
            return equal if op == "==" else not equal

        return self._chain(("==", "!="), self.unary, equality)

    def unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, value = self._take()
        if value == "(" and kind == "op":
            inner = self.or_()
            self._take(")")
            return inner
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r}")
        if value in ("true", "false"):
            return value == "true"
        if value == "null":
            return None
        if self._peek() == "(":
            return self._call(value)
        return self._lookup(value)

    def _call(self, name: str) -> Any:
        self._take("(")
        args: list[Any] = []
        while self._peek() != ")":
            args.append(self.or_())
            if self._peek() == ",":
                self._take()
        self._take(")")
        results = self.status.needs_results
        if name == "success":
            return not self.status.run_cancelled and all(r in ("success", "skipped") for r in results)
        if name == "failure":
            return any(r == "failure" for r in results)
        if name == "always":
            return True
        if name == "cancelled":
            return self.status.run_cancelled
        if name == "contains" and len(args) == 2:
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_loose(item) == _loose(needle) for item in haystack)
            return to_text(needle).lower() in to_text(haystack).lower()
        raise ExpressionError(f"unknown function {name}()")

    def _lookup(self, dotted: str) -> Any:
        value: Any = self.context
        for part in dotted.split("."):
            if isinstance(value, Mapping):
                value = value.get(part)
            else:
                return None
        return value


def _loose(value: Any) -> Any:
    # GitHub compares strings case-insensitively and coerces booleans/numbers loosely.
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
