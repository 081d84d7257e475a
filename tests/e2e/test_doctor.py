"""`verify-staging doctor` against a running lab, as an operator runs it before the first verification: one line a
check, exit 0 on a healthy lab, 1 with the line that names what is wrong when the lab has a fault."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.doctor.run import CHECK_TIMEOUT
from tests.e2e.harness import World, running_world
from tests.paths import REPO_ROOT

#: The checks run at once, each bounded by CHECK_TIMEOUT; the rest is the interpreter starting under load.
DOCTOR_TIMEOUT = 2 * CHECK_TIMEOUT + 60


def doctor(world: World) -> subprocess.CompletedProcess[str]:
    world.wait_runners_online(timeout=60)
    argv = [sys.executable, "-m", "bot", "doctor", "--settings", str(world.state["settings_path"])]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=DOCTOR_TIMEOUT, cwd=REPO_ROOT, env=world.bot_environment(),
        check=False,
    )  # fmt: skip


def problems(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if not line.startswith("ok  ")]


@pytest.mark.lab
def test_a_healthy_lab_passes_every_check(tmp_path: Path) -> None:
    with running_world(tmp_path, bot=False) as world:
        done = doctor(world)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert problems(done) == [] and len(lines) >= 15, done.stdout
    # Every kind of check ran: GitHub, runners, SSH and sudo on each unit, staging HTTP, monitoring, JIRA.
    for part in ("GitHub App JWT", "runner ", "sudo -n systemctl status", "backend health", "frontend ",
                 "Prometheus alert rules", "Alertmanager receiver", "Grafana dashboard", "JIRA issue"):  # fmt: skip
        assert any(part in line for line in lines), (part, done.stdout)


@pytest.mark.lab
def test_no_secondary_names_the_missing_label(tmp_path: Path) -> None:
    with running_world(tmp_path, faults=("no-secondary",), bot=False) as world:
        done = doctor(world)
        settings = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
    [secondary] = [r["name"] for env in settings["environments"].values() for r in env["runners"]
                   if r["role"] == "secondary"]  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    [line] = problems(done)
    assert line.startswith("problem  runner ") and "lacks label [production]" in line, done.stdout
    assert line.startswith(f"problem  runner {secondary} "), line


@pytest.mark.lab
def test_missing_alert_rule_names_the_rule(tmp_path: Path) -> None:
    with running_world(tmp_path, faults=("missing-alert-rule",), bot=False) as world:
        done = doctor(world)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    [line] = problems(done)
    assert line.startswith("problem  Prometheus alert rules: DeploymentDurationHigh not loaded"), done.stdout
