"""The README's install path, against the lab standing in for GitHub: `serve` started from a settings file and the
contract's environment variables, then the first command a team runs, `/verify-staging --dry-run`, which answers
with the plan (scenarios, hosts, the exact commands, thresholds) and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.texts import commands as texts
from tests.support.wait import wait_for

from .harness import running_world

pytestmark = pytest.mark.lab


def test_a_dry_run_replies_with_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        asked = world.comment("/verify-staging --dry-run")
        replies = wait_for(
            lambda: world.bot_comments(since_id=int(asked["id"])) or None, timeout=30, what="the dry-run reply"
        )
        plan = replies[0]["body"]
        assert plan.startswith(texts.DRY_RUN_HEADER.split("{", 1)[0])
        for scenario in ("normal-deploy", "concurrency", "failover", "rollback", "monitoring"):
            assert f"(`{scenario}`)" in plan, scenario
        for runner in world.runners().values():
            assert runner["name"] in plan
        assert "`sudo systemctl stop actions.runner." in plan and "`sudo systemctl stop paws360-backend`" in plan
        assert "Thresholds:" in plan
        # Nothing was dispatched and no host was changed: the lab's own record says so. The installation check
        # (the doctor's summary ends the plan) only asks each unit's status, with `sudo -n`.
        truth = world.truth()
        assert "run_created" not in {e["event"] for e in truth}
        commands = [str(e["command"]) for e in truth if e["event"] == "ssh_command"]
        assert commands and all(c.startswith("sudo -n systemctl status ") for c in commands), commands
        assert "\n**Installation check** — doctor: " in plan
        assert len(replies) == 1
