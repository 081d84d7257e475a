"""No lab outlives what started it: SIGKILL `verify-staging demo` or `verify-staging lab` (a CI timeout, a closed
terminal) and every process of its lab ends: the lab, its runner agents, stand-in services, Prometheus and
Alertmanager. SIGKILL of the lab itself ends its children too (tests/lab/world/test_faults.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.paths import REPO_ROOT
from tests.support.processes import alive, descendants_of, mentioning
from tests.support.wait import wait_for

pytestmark = pytest.mark.lab

UP_TIMEOUT = 120.0  # the lab's start on two CPUs shared with other lab runs
# The lab stops its units in parallel, each SIGTERM then SIGKILL after 5 s (lab/units.py STOP_TIMEOUT), then
# Prometheus and Alertmanager the same way: 30 s is twice the slowest orderly stop.
GONE_TIMEOUT = 30.0


def _started(argv: list[str], tmp_path: Path) -> subprocess.Popen[bytes]:
    # TMPDIR: the demo and `verify-staging lab` put their lab's workdir in a fresh temp dir, here under tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with (tmp_path / "out.log").open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=env)


def _lab_up(proc: subprocess.Popen[bytes], pattern: str, tmp_path: Path) -> dict[str, Any]:
    def state() -> dict[str, Any] | None:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {(tmp_path / 'out.log').read_text()[-2000:]}")
        found = sorted(tmp_path.glob(pattern))
        return json.loads(found[0].read_text(encoding="utf-8")) if found else None

    return wait_for(state, timeout=UP_TIMEOUT, what="the lab's state file", interval=0.5)


def _assert_whole_lab_ends_when_killed(proc: subprocess.Popen[bytes], state: dict[str, Any]) -> None:
    lab_pid = int(state["pid"])
    workdir = str(state["workdir"])
    pids = [lab_pid, *descendants_of(lab_pid)]
    assert len(pids) >= 10, pids  # the lab, services, runner agents, exporter, Prometheus, Alertmanager
    assert set(mentioning(workdir)) <= set(pids)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    try:
        wait_for(
            lambda: not alive(pids) and not mentioning(workdir),
            timeout=GONE_TIMEOUT,
            what="every process of the lab to end after its parent was killed",
        )
    finally:
        for pid in alive(pids):  # never leave a lab behind, even when the test fails
            os.kill(pid, signal.SIGKILL)


def test_sigkill_of_the_demo_ends_its_whole_lab(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bot", "demo", "--scenarios", "normal-deploy", "--report-dir", str(tmp_path / "r")]
    demo = _started(argv, tmp_path)
    try:
        state = _lab_up(demo, "verify-staging-demo-*/lab-state.json", tmp_path)
        _assert_whole_lab_ends_when_killed(demo, state)
    finally:
        demo.kill()
        demo.wait(timeout=10)


def test_sigkill_of_verify_staging_lab_ends_its_lab(tmp_path: Path) -> None:
    state_file = tmp_path / "lab-state.json"
    cli = _started([sys.executable, "-m", "bot", "lab", "--state-file", str(state_file)], tmp_path)
    try:
        state = _lab_up(cli, state_file.name, tmp_path)
        assert Path(str(state["workdir"])).is_relative_to(tmp_path)
        _assert_whole_lab_ends_when_killed(cli, state)
    finally:
        cli.kill()
        cli.wait(timeout=10)
