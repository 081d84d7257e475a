"""The whole demo on a second staging world in which every name differs from the lab's defaults (repository, pull
request, users and roles with a `maintain` authorized user, runners, labels, hosts, units, JIRA key, team): all
five scenarios pass, and the report speaks of that world, not of the default one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lab.topology import load_topology
from tests.e2e.test_demo_cli import demo
from tests.paths import FIXTURES, REPORT_SCHEMA

SECOND = FIXTURES / "topology.second.yml"
DEFAULT_NAMES = ("paws360", "INFRA-473", "production-runner-0", "alice-admin", "staging-backend-host")


def _jobs(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [job for scenario in report["scenarios"] for run in scenario["runs"] for job in run["jobs"]]


def test_the_second_topology_renames_everything_the_default_one_names() -> None:
    """The fixture is worth running only if no default name survives in it."""
    text = SECOND.read_text(encoding="utf-8")
    assert not [name for name in DEFAULT_NAMES if name in text]
    topology = load_topology(SECOND)
    assert topology.user("authorized") == "mira-maintainer"
    assert topology.minimum_permission == "maintain"
    assert "production" not in topology.deploy_labels


@pytest.mark.lab
def test_the_demo_passes_all_five_scenarios_on_a_second_topology(tmp_path: Path) -> None:
    topology = load_topology(SECOND)
    done = demo("--topology", str(SECOND), report_dir=tmp_path / "report")
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-2000:])
    report = json.loads((tmp_path / "report" / "verification.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, json.loads(REPORT_SCHEMA.read_text(encoding="utf-8")))
    assert report["conclusion"] == "success"
    conclusions = {s["id"]: s["conclusion"] for s in report["scenarios"]}
    assert len(conclusions) == 5 and set(conclusions.values()) == {"passed"}, conclusions
    assert report["repository"] == topology.repository
    assert report["pull_request"] == topology.pull_request.number
    assert report["requested_by"] == "mira-maintainer"  # a maintainer may run it (minimum_permission maintain)
    assert report["environment"] == topology.environment
    assert report["jira"]["issue"] == "ORB-88"
    # The deploys ran on this world's runners, asked for by this world's labels.
    runners = {job.get("runner_name") for job in _jobs(report)}
    assert {"gs-runner-east", "gs-runner-west"} <= runners
    labels = {label for job in _jobs(report) for label in job.get("labels", [])}
    assert {"preprod-fleet", "lane-east", "lane-west"} <= labels and "production" not in labels
    written = json.dumps(report) + (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert not [name for name in DEFAULT_NAMES if name in written]
