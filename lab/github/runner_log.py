"""A job's log as a runner agent writes it, in the shape of GitHub's runner: every line after a timestamp with seven
fractional digits (`2026-11-27T10:00:01.1234567Z `), "Set up job" naming the runner, a `##[group]Run …` /
`##[endgroup]` header per step, and `##[error]` for what failed."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime

#: What the lab's runner reports as its version in "Set up job".
RUNNER_VERSION = "2.321.0"
ERROR = "##[error]"


def stamp(moment: datetime | None = None) -> str:
    """The runner's timestamp: UTC, seven fractional digits (.NET's ticks), `Z`."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


class RunnerLog:
    """The lines of one job's log not yet uploaded; steps write into it from a worker thread."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            self._lines.extend(f"{stamp()} {part}" for part in line.splitlines() or [""])

    def error(self, message: str) -> None:
        self.write(ERROR + message)

    def take(self) -> list[str]:
        """The lines written since the last take (what the next upload sends)."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def give_back(self, lines: list[str]) -> None:
        """Lines an upload could not deliver, to go first with the next one."""
        with self._lock:
            self._lines[:0] = lines

    def set_up_job(self, *, runner: str, group: str, machine: str, job: str) -> None:
        for line in (
            f"Current runner version: '{RUNNER_VERSION}'",
            f"Runner name: '{runner}'",
            f"Runner group name: '{group}'",
            f"Machine name: '{machine}'",
            "Secret source: Actions",
            "Prepare workflow directory",
            "Prepare all required actions",
            f"Complete job name: {job}",
        ):
            self.write(line)

    def step_header(self, uses: str, with_: Mapping[str, str]) -> None:
        self.write(f"##[group]Run {uses}")
        if with_:
            self.write("with:")
            for key, value in with_.items():
                self.write(f"  {key}: {value}")
        self.write("##[endgroup]")

    def complete_job(self) -> None:
        self.write("Cleaning up orphan processes")
