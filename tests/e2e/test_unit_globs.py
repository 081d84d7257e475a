"""A runner unit configured as a glob, on the lab's real SSH hosts: the bot expands it over SSH before it stops
anything, stops and starts only the concrete unit it found, and proves the restoration with `systemctl is-active`."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from .harness import running_world

pytestmark = pytest.mark.lab

GLOB = "actions.runner.*.service"


def test_a_glob_unit_is_expanded_before_the_stop_and_its_restoration_is_proven(tmp_path: Path) -> None:
    with running_world(tmp_path, bot=False) as world:
        path = Path(world.state["settings_path"])
        settings = yaml.safe_load(path.read_text())
        [primary] = [r for r in settings["environments"]["staging"]["runners"] if r["role"] == "primary"]
        unit, host = primary["service"], primary["host"]
        primary["service"] = GLOB
        path.write_text(yaml.safe_dump(settings))
        world.start_bot()

        start = len(world.truth())
        verdict = world.verify("/verify-staging failover")
        assert verdict.conclusions() == {"failover": "success"}

        sent = [
            shlex.split(e["command"])
            for e in world.truth()[start:]
            if e["event"] == "ssh_command" and e["host"] == host
        ]
        # The glob reaches only `list-units`; every harmful or restoring command names the concrete unit.
        assert sent[0] == ["systemctl", "list-units", "--all", "--plain", "--no-legend", GLOB]
        assert ["sudo", "systemctl", "stop", unit] in sent
        stop = sent.index(["sudo", "systemctl", "stop", unit])
        start_at = sent.index(["sudo", "systemctl", "start", unit])
        assert stop < start_at
        assert any(c[-2:] == ["is-active", unit] for c in sent[start_at + 1 :])
        assert not any(GLOB in c for c in sent[1:])
        verification = world.latest_verification()
        assert verification is not None and [r.ok for r in verification.restorations] == [True]
        assert all(unit in r.undo for r in verification.restorations)
