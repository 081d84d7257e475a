"""Step kinds a lab workflow can use, and the context a runner agent hands to each step.

A workflow step says `uses: "module:function"`; the runner agent imports it and calls `function(ctx)`. A step
fails by raising `StepFailed(message)`. The built-in kinds here are `sleep`, `echo` and `fail`; the deployment
pipeline's kinds live in `lab/pipeline.py`.
"""

from __future__ import annotations

import json as jsonlib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.truth import Truth


class StepFailed(Exception):
    """Raised by a step to fail it; the message appears in the job's log."""


@dataclass
class GitHubAnswer:
    """An answer of the simulated GitHub's REST API to a step."""

    status: int
    body: Any


@dataclass
class StepContext:
    """What a step sees: its `with:` mapping, the job environment, outputs, the log and the truth log."""

    with_: Mapping[str, str]
    env: Mapping[str, str]
    job_name: str = ""
    run_id: int = 0
    job_id: int = 0
    runner_name: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    _log_sink: Callable[[str], None] | None = None

    def set_output(self, name: str, value: str) -> None:
        self.outputs[name] = str(value)

    def log(self, line: str) -> None:
        self.lines.append(line)
        if self._log_sink is not None:
            self._log_sink(line)

    def error(self, message: str) -> None:
        """An error annotation without failing the step (a script's `echo "::error::…"`): `##[error]` in the log."""
        self.log(f"##[error]{message}")

    def truth(self, event: str, /, **fields: object) -> None:
        path = self.env.get("LAB_TRUTH_LOG")
        if path:
            from pathlib import Path

            Truth(Path(path)).record(event, **fields)

    def github(self, method: str, path: str, json: object | None = None, *, timeout: float = 10.0) -> GitHubAnswer:
        """One REST call to the simulated GitHub with the job token (GITHUB_TOKEN)."""
        url = self.env["GITHUB_API_URL"].rstrip("/") + path
        data = None if json is None else jsonlib.dumps(json).encode()
        request = urllib.request.Request(url, data=data, method=method.upper())  # noqa: S310 (lab URL)
        request.add_header("Authorization", f"token {self.env['GITHUB_TOKEN']}")
        request.add_header("Accept", "application/vnd.github+json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                return GitHubAnswer(answer.status, _json_or_none(answer.read()))
        except urllib.error.HTTPError as error:
            # GitHub's 502s come from its front end as plain text, not JSON: the caller decides on the status.
            return GitHubAnswer(error.code, _json_or_none(error.read()))


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        return None


def _seconds(ctx: StepContext, key: str, default: float) -> float:
    try:
        return float(ctx.with_.get(key, default))
    except ValueError as error:
        raise StepFailed(f"with.{key} must be a number of seconds, got {ctx.with_.get(key)!r}") from error


def sleep(ctx: StepContext) -> None:
    """Waits `with.seconds` seconds (lab time)."""
    time.sleep(_seconds(ctx, "seconds", 1.0))


def echo(ctx: StepContext) -> None:
    """Logs `with.message`; every other `with:` key becomes an output of the same name."""
    ctx.log(str(ctx.with_.get("message", "")))
    for key, value in ctx.with_.items():
        if key != "message":
            ctx.set_output(key, value)


def fail(ctx: StepContext) -> None:
    """Fails with `with.message`."""
    raise StepFailed(str(ctx.with_.get("message", "failed on purpose")))
