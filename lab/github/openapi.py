"""GitHub's published REST description (the pinned npm package `@octokit/openapi`), compiled once into what the
simulated GitHub needs to refuse a request GitHub does not document: each operation's path template and method, its
query parameters, and the fields its JSON request body may carry.

    description = load_description()            # cached: one parse per process
    verdict = description.check("GET", "/repos/o/r/actions/runs", ["per_page"], None)
    verdict.operation.template                  # "/repos/{owner}/{repo}/actions/runs", or verdict.problem
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# tools/package.json pins the package; scripts/install-system-packages.sh installs it (`npm ci --prefix tools`).
SPEC_PATH = REPO_ROOT / "tools/node_modules/@octokit/openapi/generated/api.github.com.json"
METHODS = ("get", "put", "post", "delete", "patch")
DEPTH = 8  # request bodies nest a few levels (check-run output.annotations[]); deeper is left unchecked


class DescriptionMissing(RuntimeError):
    """GitHub's OpenAPI description is not installed."""


@dataclass(frozen=True)
class Fields:
    """The JSON a request body may hold at one place: the documented keys of an object (each with its own
    `Fields`), whether other keys are allowed (`open`), and what an array's items may hold."""

    keys: Mapping[str, Fields] = field(default_factory=dict)
    open: bool = True
    items: Fields | None = None
    free_object: bool = False  # an object whose keys are free (`inputs` of a workflow dispatch)

    def undocumented(self, value: object, where: str = "") -> str | None:
        """The dotted name of the first field of `value` that is not documented here, or None."""
        if isinstance(value, dict):
            for key, inner in value.items():
                name = f"{where}.{key}" if where else str(key)
                known = self.keys.get(str(key))
                if known is None:
                    if not self.open:
                        return name
                    continue
                found = known.undocumented(inner, name)
                if found:
                    return found
        elif isinstance(value, list) and self.items is not None:
            for index, inner in enumerate(value):
                found = self.items.undocumented(inner, f"{where}[{index}]")
                if found:
                    return found
        return None


ANY = Fields()


def merge(shapes: Iterable[Fields]) -> Fields:
    """What any one of several schemas allows (allOf / anyOf / oneOf): every documented key of each."""
    listed = list(shapes)
    if not listed:
        return ANY
    keys: dict[str, list[Fields]] = {}
    for shape in listed:
        for name, inner in shape.keys.items():
            keys.setdefault(name, []).append(inner)
    items = [s.items for s in listed if s.items is not None]
    return Fields(
        keys={name: merge(inner) for name, inner in keys.items()},
        # A branch that is no object at all (a string, a number) opens nothing; an open object opens its keys.
        open=any(s.open and (s.keys or s.free_object) for s in listed) or all(s.open for s in listed),
        items=merge(items) if items else None,
        free_object=any(s.free_object for s in listed),
    )


@dataclass(frozen=True)
class Operation:
    """One documented operation: `template` as GitHub writes it, e.g. `/repos/{owner}/{repo}/actions/runs`."""

    method: str
    template: str
    query: frozenset[str]
    body: Fields | None  # None: the operation documents no JSON body
    docs: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class Verdict:
    """The documented operation a request matched, or why it is not documented (`problem`, GitHub's wording)."""

    operation: Operation | None
    problem: str = ""


@dataclass
class _Node:
    """One path segment of the templates: literal children first, then a parameter (one or several segments)."""

    literals: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    multi: _Node | None = None  # `x-multi-segment` parameters (a file path, a ref with slashes)
    operations: dict[str, Operation] = field(default_factory=dict)

    def find(self, segments: list[str], at: int) -> _Node | None:
        if at == len(segments):
            return self if self.operations else None
        literal = self.literals.get(segments[at])
        found = literal.find(segments, at + 1) if literal is not None else None
        if found is None and self.param is not None and segments[at]:
            found = self.param.find(segments, at + 1)
        if found is None and self.multi is not None:
            # Shortest first: `/commits/{ref}/check-runs` before `/commits/{ref}` with a ref ending in /check-runs.
            for end in range(at + 1, len(segments) + 1):
                found = self.multi.find(segments, end)
                if found is not None:
                    break
        return found


class Description:
    """The documented operations, looked up by method and concrete path in time linear in the path's segments."""

    def __init__(self, operations: Iterable[Operation], multi: Mapping[str, frozenset[str]]) -> None:
        self.root = _Node()
        self.count = 0
        for operation in operations:
            node = self.root
            for segment in operation.template.strip("/").split("/"):
                if segment.startswith("{") and segment.endswith("}"):
                    if segment[1:-1] in multi.get(operation.template, frozenset()):
                        node.multi = node.multi or _Node()
                        node = node.multi
                    else:
                        node.param = node.param or _Node()
                        node = node.param
                else:
                    node = node.literals.setdefault(segment, _Node())
            node.operations[operation.method] = operation
            self.count += 1

    def check(self, method: str, path: str, query: Iterable[str], body: object) -> Verdict:
        """Whether GitHub documents this request: its path and method, each query parameter, each body field."""
        method = "GET" if method == "HEAD" else method
        node = self.root.find(path.strip("/").split("/"), 0)
        if node is None:
            return Verdict(None, f"Invalid request.\n\n{path} is not a documented path of the REST API.")
        operation = node.operations.get(method)
        if operation is None:
            allowed = ", ".join(sorted(node.operations))
            return Verdict(None, f"Invalid request.\n\n{method} is not a documented method of {path} ({allowed}).")
        for name in query:
            if name not in operation.query:
                return Verdict(operation, f'Invalid request.\n\n"{name}" is not a permitted query parameter.')
        if body is not None:
            unknown = (operation.body or Fields(open=False)).undocumented(body)
            if unknown:
                return Verdict(operation, f'Invalid request.\n\n"{unknown}" is not a permitted key.')
        return Verdict(operation)


class _Compiler:
    """Reads the OpenAPI 3.0 document: resolves `$ref`s to components, and turns body schemas into `Fields`."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.multi: dict[str, frozenset[str]] = {}

    def resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def fields(self, schema: Mapping[str, Any], depth: int = 0, seen: frozenset[str] = frozenset()) -> Fields:
        ref = str(schema.get("$ref", ""))
        if depth > DEPTH or ref in seen:
            return ANY
        seen = seen | {ref} if ref else seen
        schema = self.resolve(schema)
        combined = [s for k in ("allOf", "anyOf", "oneOf") for s in schema.get(k, ())]
        if combined:
            return merge(self.fields(s, depth + 1, seen) for s in combined)
        if "properties" in schema:
            extra = schema.get("additionalProperties", False)
            keys = {name: self.fields(inner, depth + 1, seen) for name, inner in schema["properties"].items()}
            return Fields(keys=keys, open=extra is not False)
        if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
            return Fields(items=self.fields(schema["items"], depth + 1, seen))
        if schema.get("type") == "object":
            return Fields(free_object=True)
        return ANY

    def operation(self, template: str, method: str, item: Mapping[str, Any]) -> Operation:
        raw = item[method]
        query: set[str] = set()
        multi: set[str] = set()
        for parameter in [*item.get("parameters", ()), *raw.get("parameters", ())]:
            resolved = self.resolve(parameter)
            if resolved.get("in") == "query":
                query.add(str(resolved["name"]))
            if resolved.get("in") == "path" and resolved.get("x-multi-segment"):
                multi.add(str(resolved["name"]))
        if multi:
            self.multi[template] = frozenset(multi)
        body = None
        if "requestBody" in raw:
            content = self.resolve(raw["requestBody"]).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            body = self.fields(schema) if isinstance(schema, Mapping) else ANY
        docs = str(raw.get("externalDocs", {}).get("url", "https://docs.github.com/rest"))
        return Operation(method.upper(), template, frozenset(query), body, docs)


def compile_description(document: Mapping[str, Any]) -> Description:
    compiler = _Compiler(document)
    operations = [
        compiler.operation(template, method, item)
        for template, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]
    return Description(operations, compiler.multi)


@functools.cache
def load_description(path: Path = SPEC_PATH) -> Description:
    """The compiled description at `path` (read once per process; the parsed document is not kept)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as missing:
        raise DescriptionMissing(
            f"GitHub's OpenAPI description {path} is missing: install it with `npm ci --prefix tools`"
        ) from missing
    return compile_description(json.loads(text))
