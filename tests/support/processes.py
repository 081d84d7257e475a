"""Processes the tests start: `python -m lab` tied to the test process, and what is left of a process tree.

`launch_lab` starts the lab with `--parent-fd`: the lab stops (and stops everything it started) when the test
process goes away, even by SIGKILL, so an interrupted test run leaves no lab behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.paths import REPO_ROOT
from tests.support.wait import wait_for


@dataclass
class LaunchedLab:
    """A `python -m lab` process, its state file once up, and the write end of its parent pipe."""

    proc: subprocess.Popen[bytes]
    state_file: Path
    log: Path
    parent_fd: int = field(repr=False)
    state: dict[str, Any] = field(default_factory=dict)

    def stop(self, signum: int = signal.SIGTERM, *, timeout: float = 30.0) -> None:
        """`signum` to the lab (SIGTERM: it stops every process it started), SIGKILL if it outlives `timeout`."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signum)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            self.close_parent_pipe()

    def close_parent_pipe(self) -> None:
        """What the lab sees when this process dies: EOF on its parent pipe."""
        if self.parent_fd >= 0:
            os.close(self.parent_fd)
            self.parent_fd = -1


def launch_lab(
    args: Sequence[str], *, state_file: Path, log: Path, timeout: float, cwd: Path = REPO_ROOT
) -> LaunchedLab:
    """Starts `python -m lab --state-file STATE_FILE ARGS`, waits (bounded) for its state file and reads it."""
    read_end, write_end = os.pipe()  # both non-inheritable: only the lab gets `read_end`, by pass_fds
    argv = [sys.executable, "-m", "lab", "--state-file", str(state_file), "--parent-fd", str(read_end), *args]
    try:
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, pass_fds=(read_end,))
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    lab = LaunchedLab(proc=proc, state_file=state_file, log=log, parent_fd=write_end)
    try:
        wait_for(lambda: state_file.exists() or proc.poll() is not None, timeout=timeout, what="the lab's state file")
        if proc.poll() is not None:
            raise AssertionError(f"the lab exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
    except BaseException:
        lab.stop(signal.SIGKILL)
        raise
    lab.state = json.loads(state_file.read_text(encoding="utf-8"))
    return lab


def process_states() -> dict[int, tuple[str, int]]:
    """Every process: pid -> (state letter, parent pid), from /proc."""
    found: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(entry.name)] = (stat[0], int(stat[1]))
    return found


def descendants_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent chain reaches `pid`."""
    parents = {p: parent for p, (state, parent) in process_states().items() if state != "Z"}
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def alive(pids: Sequence[int]) -> list[int]:
    """Those of `pids` that still run (a zombie has ended)."""
    states = process_states()
    return [pid for pid in pids if pid in states and states[pid][0] != "Z"]


def mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (e.g. a lab's workdir)."""
    found = []
    for pid, (state, _) in process_states().items():
        if state == "Z" or pid == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(pid)
    return found
