"""Reads a job's log as GitHub serves it (`GET /repos/{o}/{r}/actions/jobs/{id}/logs`): which runner says it ran
the job, and which lines the runner marked as errors.

The log is plain text, one line per output line, each prefixed by the runner's timestamp (ISO 8601 with seven
fractional digits and `Z`, e.g. `2026-11-27T10:00:01.1234567Z `); the download starts with a UTF-8 byte-order mark.
In "Set up job" a self-hosted runner prints `Runner name: '<its configured name>'` (actions/runner,
`JobExtension.cs`); workflow commands show as `##[group]`, `##[endgroup]`, `##[warning]` and `##[error]`, the
latter also for a failed step (`##[error]Process completed with exit code 1.`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ")
_RUNNER_NAME = re.compile(r"^Runner name: '(?P<name>.*)'$")
ERROR_MARK = "##[error]"


def message(line: str) -> str:
    """A log line without its timestamp (and without the byte-order mark the first line carries)."""
    line = line.removeprefix("\ufeff").rstrip("\r")
    return _TIMESTAMP.sub("", line, count=1)


@dataclass(frozen=True)
class JobLog:
    """What verify-staging reads from a job's log."""

    #: The name in the first `Runner name: '…'` line (None: the log names no runner).
    runner_name: str | None
    #: Every line the runner marked `##[error]`, without timestamp, in order.
    errors: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> JobLog:
        runner: str | None = None
        errors: list[str] = []
        for raw in text.splitlines():
            line = message(raw)
            if line.startswith(ERROR_MARK):
                errors.append(line)
            elif runner is None and (named := _RUNNER_NAME.match(line)) is not None:
                runner = named.group("name")
        return cls(runner, tuple(errors))
