"""`verify-staging doctor` against a running lab, as an operator runs it before the first verification: one line a
check, exit 0 on a healthy lab, 1 with the line that names what is wrong when the lab has a fault."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from bot.doctor.run import CHECK_TIMEOUT
from bot.runtime.doctor import DRY_RUN_TIMEOUT
from bot.store import MIGRATIONS
from tests.e2e.harness import World, running_world
from tests.paths import REPO_ROOT
from tests.support.wait import wait_for

#: The checks run at once, each bounded by CHECK_TIMEOUT; the rest is the interpreter starting under load.
DOCTOR_TIMEOUT = 2 * CHECK_TIMEOUT + 60
#: The lab answers a fault change once every part it touches has taken it.
TOGGLE_TIMEOUT = 60.0
#: The dry-run's checks are bounded by DRY_RUN_TIMEOUT each; the reply also waits on the comment's round trip.
DRY_RUN_REPLY_TIMEOUT = 2 * DRY_RUN_TIMEOUT + 60


def doctor(world: World) -> subprocess.CompletedProcess[str]:
    world.wait_runners_online(timeout=60)
    argv = [sys.executable, "-m", "bot", "doctor", "--settings", str(world.state["settings_path"])]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=DOCTOR_TIMEOUT, cwd=REPO_ROOT, env=world.bot_environment(),
        check=False,
    )  # fmt: skip


def secondary_runner(world: World) -> str:
    settings = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
    [name] = [
        r["name"] for env in settings["environments"].values() for r in env["runners"] if r["role"] == "secondary"
    ]
    return str(name)


def problems(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stdout.splitlines() if not line.startswith("ok  ")]


@contextlib.contextmanager
def fault(world: World, name: str) -> Iterator[None]:
    """The lab with `name` turned on while the block runs (`POST /_lab/faults`), off again afterwards."""
    url = str(world.state["github_api_url"]) + "/_lab/faults"
    answer = requests.post(url, json={"fault": name, "on": True}, timeout=TOGGLE_TIMEOUT)
    assert answer.status_code == 200, answer.text
    try:
        yield
    finally:
        requests.post(url, json={"fault": name, "on": False}, timeout=TOGGLE_TIMEOUT).raise_for_status()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One lab (and its bot, for the dry run) for the module: each test turns on the fault it needs, then off."""
    with running_world(tmp_path_factory.mktemp("doctor")) as world:
        yield world


@pytest.mark.lab
def test_a_healthy_lab_passes_every_check(lab: World) -> None:
    done = doctor(lab)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert problems(done) == [] and len(lines) >= 15, done.stdout
    # Every kind of check ran: GitHub, runners, SSH and sudo on each unit, staging HTTP, monitoring, JIRA.
    for part in ("GitHub App JWT", "runner ", "sudo -n systemctl status", "backend health", "frontend ",
                 "Prometheus alert rules", "Alertmanager receiver", "Grafana dashboard", "JIRA issue"):  # fmt: skip
        assert any(part in line for line in lines), (part, done.stdout)
    # The store `serve` has open: its file usable, at the schema this release runs (read beside the running bot).
    assert f"ok  store schema {len(MIGRATIONS)}: the one this verify-staging runs" in lines, done.stdout
    assert any(line.startswith("ok  store SQLite file ") for line in lines), done.stdout


@pytest.mark.lab
def test_no_secondary_names_the_missing_label(lab: World) -> None:
    with fault(lab, "no-secondary"):
        done = doctor(lab)
    secondary = secondary_runner(lab)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    [line] = problems(done)
    assert line.startswith("problem  runner ") and "lacks label [production]" in line, done.stdout
    assert line.startswith(f"problem  runner {secondary} "), line


@pytest.mark.lab
def test_missing_alert_rule_names_the_rule(lab: World) -> None:
    with fault(lab, "missing-alert-rule"):
        done = doctor(lab)
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    [line] = problems(done)
    assert line.startswith("problem  Prometheus alert rules: DeploymentDurationHigh not loaded"), done.stdout


@pytest.mark.lab
def test_a_dry_run_reply_ends_with_the_doctors_summary(lab: World) -> None:
    with fault(lab, "no-secondary"):
        lab.wait_runners_online(timeout=60)
        asked = int(lab.comment("/verify-staging --dry-run")["id"])

        def reply() -> str | None:
            bodies = [str(c["body"]) for c in lab.bot_comments(since_id=asked)]
            return next((b for b in bodies if "Dry run" in b), None)

        body = wait_for(reply, timeout=DRY_RUN_REPLY_TIMEOUT, what="the dry-run reply")
    secondary = secondary_runner(lab)
    [summary] = [line for line in body.splitlines() if line.startswith("**Installation check**")]
    # Shown as text: the label's brackets are escaped, so Markdown cannot read them as a link.
    assert f"doctor: 18 ok, 1 problem: runner {secondary} on {lab.repository}: lacks label \\[production\\]" in (
        summary
    ), body
