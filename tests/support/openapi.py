"""Checks the simulated GitHub's answers against the response schemas of GitHub's published OpenAPI description
(the same pinned `@octokit/openapi` the lab's request check reads), with `jsonschema`.

    schemas = response_schemas()
    problems = schemas.problems(answer)   # answer: one line of the lab's answers.jsonl (`--record-answers`)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lab.github.openapi import SPEC_PATH

BASE = "urn:github-openapi"
# A conditional request's 304 has no body; GitHub documents it for few operations but answers it for any GET.
BODILESS = {204, 302, 304}


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a `null` alternative, and every local
    `$ref` names the whole document (so a schema taken out of it still resolves its components)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items() if key not in ("example", "examples")}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = BASE + ref
    if out.get("nullable") is True:
        del out["nullable"]
        if isinstance(out.get("type"), str) and "$ref" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


class ResponseSchemas:
    """The documented JSON answer of each operation and status."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document: dict[str, Any] = to_json_schema(document)
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(BASE, resource)

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in str(node["$ref"]).removeprefix(BASE + "#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def schema(self, method: str, template: str, status: int) -> Mapping[str, Any] | None:
        """The documented JSON schema of this answer; None when the status is not documented at all."""
        responses = self.document["paths"][template][method.lower()]["responses"]
        response = responses.get(str(status)) or responses.get("default")
        if response is None:
            return None
        content = self._resolve(response).get("content") or {}
        return next((c["schema"] for t, c in content.items() if "json" in t and "schema" in c), {})

    def problems(self, answer: Mapping[str, Any]) -> list[str]:
        """How one recorded answer (`method`, `operation`, `status`, `body`) differs from GitHub's description."""
        name = f"{answer['method']} {answer['operation']} -> {answer['status']}"
        status = int(answer["status"])
        schema = self.schema(str(answer["method"]), str(answer["operation"]), status)
        if schema is None:
            return [] if status in BODILESS else [f"{name}: status not documented"]
        if not schema and status >= 400:
            # Some errors are documented without content (a team membership's 404), yet GitHub answers every error
            # with its basic error body; hold the lab's to that.
            schema = {"$ref": BASE + "#/components/schemas/basic-error"}
        if not schema:
            return [] if answer["body"] is None or status in BODILESS else [f"{name}: documents no JSON body"]
        validator = Draft202012Validator(schema, registry=self.registry)
        return [
            f"{name}: {'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message[:300]}"
            for error in validator.iter_errors(answer["body"])
        ]


@functools.cache
def response_schemas() -> ResponseSchemas:
    """Read once per test process (13 MB of JSON)."""
    return ResponseSchemas(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
