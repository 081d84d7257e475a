"""`verify-staging demo` as a newcomer meets it: live plain-text progress, the results table, and exit status 2
with one clear line when the lab cannot start."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from bot.model import ScenarioConclusion, ScenarioId, ScenarioStatus, Step, StepOutcome
from bot.ports import ProgressEvent
from bot.reporting.terminal import TerminalReporter
from bot.runtime.demo import bot_environment, lab_command
from bot.texts import reports as texts
from tests.fakes.clock import FakeClock
from tests.paths import REPO_ROOT
from tests.support.verifications import conclude, new_verification

ROOT = REPO_ROOT


async def test_progress_is_plain_lines_when_not_a_terminal() -> None:
    out, clock = io.StringIO(), FakeClock()
    terminal = TerminalReporter(out=out, clock=clock, tty=False)
    v = new_verification((ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER))
    await terminal.started(v)
    s = v.scenarios[0]
    s.status = ScenarioStatus.IN_PROGRESS
    clock.advance(2.5)
    s.steps.append(Step("dispatch", clock.now()))
    await terminal.progress(ProgressEvent(v, s.id))
    clock.advance(1.5)
    s.steps[-1].completed_at, s.steps[-1].outcome = clock.now(), StepOutcome.OK
    await terminal.progress(ProgressEvent(v, s.id))
    conclude(s, ScenarioConclusion.PASSED, start=0)
    clock.advance(10)
    await terminal.progress(ProgressEvent(v, s.id))
    conclude(v.scenarios[1], ScenarioConclusion.FAILED, start=20)
    v.conclusion, v.github_api_calls = v.decide_conclusion(), 48
    await terminal.finished(v)

    lines = out.getvalue().splitlines()
    assert lines[:4] == [
        "verification v-0001 started: normal-deploy, failover",
        "[   2.5s] normal-deploy: dispatch",
        "[   4.0s] normal-deploy: dispatch: ok (1.5 s)",
        "[  14.0s] normal-deploy: PASS",
    ]
    assert "\r" not in out.getvalue() and "\033" not in out.getvalue()
    assert "  1  normal-deploy   PASS" in lines
    assert "  2  failover        FAIL     Deployment took 31.5 s, over the 20 s threshold." in lines
    assert "       - Deployment completes within the threshold: observed 31.5 s, threshold 20 s" in lines
    assert lines[-1] == texts.TERMINAL_VERDICT.format(conclusion="FAILURE", calls=48).lstrip("\n")
    assert terminal.done.is_set()


def test_the_lab_is_started_with_the_demo_flags_and_the_bot_gets_its_secrets(tmp_path: Path) -> None:
    import argparse

    args = argparse.Namespace(fault=["slow-deploy", "redis-down"], topology="topo.yml")
    argv = lab_command(
        args, state_file=tmp_path / "s.json", webhook_url="http://127.0.0.1:5/webhooks", workdir=tmp_path
    )
    assert argv[1:] == [
        "-m", "lab", "--state-file", str(tmp_path / "s.json"), "--webhook-url", "http://127.0.0.1:5/webhooks",
        "--workdir", str(tmp_path), "--fault", "slow-deploy", "--fault", "redis-down", "--topology", "topo.yml",
    ]  # fmt: skip
    state = {
        "app_id": 4242, "app_private_key_path": "/k.pem", "webhook_secret": "w", "github_api_url": "http://g",
        "jira_url": "http://j", "jira_token": "t", "ssh_key_path": "/id", "ssh_known_hosts": "/kh",
        "grafana_token": "glsa_lab",
    }  # fmt: skip
    env = bot_environment(state)
    assert env["GITHUB_APP_ID"] == "4242" and env["GITHUB_API_URL"] == "http://g" and env["JIRA_TOKEN"] == "t"
    assert env["GRAFANA_TOKEN"] == "glsa_lab"  # the lab's Grafana refuses anonymous calls, as Grafana does


def test_demo_exits_2_with_one_line_when_the_lab_cannot_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--fault", "no-such-fault", "--report-dir", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("verify-staging demo: the lab could not start (")
    assert not (tmp_path / "r").exists()
