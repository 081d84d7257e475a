"""Outside systems failing: the scenario that needs them ends `error` with a reason naming what failed, nothing is
harmed, and the other scenarios are unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import World, running_world
from tests.reliability.crash import faults_left

pytestmark = pytest.mark.lab
BACKEND_HOST = "staging-backend-host"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(Path(tmp_path_factory.mktemp("outside"))) as running:
        yield running


def test_a_changed_host_key_is_an_error_naming_the_host_and_harms_nothing(world: World, tmp_path: Path) -> None:
    known = Path(str(world.state["ssh_known_hosts"])).read_text().splitlines()
    port = str(world.state["ssh_hosts"][BACKEND_HOST]).rsplit(":", 1)[1]
    other = next(line for line in known if f"]:{port} " not in line and line.strip())
    # The backend host now presents (to the bot's eyes) another host's key: as after a re-install or an attack.
    forged = [f"{line.split()[0]} {' '.join(other.split()[1:])}" if f"]:{port} " in line else line for line in known]
    assert forged != known
    (tmp_path / "known_hosts").write_text("\n".join(forged) + "\n")
    world.state["ssh_known_hosts"] = str(tmp_path / "known_hosts")
    world.restart_bot()
    verdict = world.verify("/verify-staging normal-deploy rollback")
    assert verdict.conclusions()["normal-deploy"] == "success"
    assert verdict.conclusions()["rollback"] != "success"
    stored = world.latest_verification()
    assert stored is not None
    report = {s["id"]: s for s in stored.to_report()["scenarios"]}
    assert report["normal-deploy"]["conclusion"] == "passed"
    assert report["rollback"]["conclusion"] == "error"
    assert BACKEND_HOST in str(report["rollback"]), report["rollback"]
    assert faults_left(world) == []
