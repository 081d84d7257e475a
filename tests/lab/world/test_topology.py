"""The topology names the deploy jobs' runner labels and the users' GitHub roles; a topology that cannot work is
refused with one sentence naming the key, and the deployment workflow asks for the labels the topology names."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lab.faults import Faults
from lab.github.config import Permission
from lab.pipeline import deploy_workflow
from lab.sim_setup import pipeline_params
from lab.topology import DEFAULT_TOPOLOGY, TopologyError, parse_topology
from tests.paths import FIXTURES


def raw(path: Any = DEFAULT_TOPOLOGY) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def refused(topology: dict[str, Any]) -> str:
    with pytest.raises(TopologyError) as refusal:
        parse_topology(topology)
    return str(refusal.value)


def test_every_github_role_is_a_permission_and_a_made_up_one_is_refused() -> None:
    topology = raw()
    topology["users"] = [
        {"login": f"u-{role}", "permission": role, "role": "authorized" if role == "admin" else "other"}
        for role in ("admin", "maintain", "write", "triage", "read")
    ] + [{"login": "z", "permission": "read", "role": "unauthorized"}]
    assert [Permission(u.permission) for u in parse_topology(topology).users][:5] == list(Permission)[:5]
    topology["users"].append({"login": "boss", "permission": "owner"})
    assert refused(topology) == (
        "the permission of topology user 'boss' is 'owner'; it must be one of admin, maintain, write, triage, read"
    )


def test_the_authorized_user_must_reach_the_minimum_permission_and_the_unauthorized_one_must_not() -> None:
    topology = raw(FIXTURES / "topology.second.yml")
    assert parse_topology(topology).minimum_permission == "maintain"
    assert refused({**topology, "minimum_permission": "admin"}) == (
        "authorized user 'mira-maintainer' (maintain) is below 'minimum_permission' (admin)"
    )
    with pytest.raises(TopologyError, match="unauthorized user 'tariq-triager'"):
        parse_topology({**topology, "minimum_permission": "triage"})


def test_role_labels_are_derived_or_named_and_bad_labels_are_refused() -> None:
    topology = raw(FIXTURES / "topology.second.yml")
    parsed = parse_topology(topology)
    assert parsed.deploy_labels == ("self-hosted", "preprod-fleet")
    assert [r.role_label for r in parsed.runners] == ["lane-east", "lane-west"]
    # Without deploy_labels, the labels every runner shares.
    assert parse_topology({k: v for k, v in topology.items() if k != "deploy_labels"}).deploy_labels == (
        "self-hosted",
        "linux",
        "preprod-fleet",
    )
    with pytest.raises(TopologyError, match="runner 'gs-runner-east' lacks the deploy label"):
        parse_topology({**topology, "deploy_labels": ["self-hosted", "gpu"]})
    two_own = [{**r, "labels": [*r["labels"], f"zone-{i}"]} for i, r in enumerate(topology["runners"])]
    assert refused({**topology, "runners": two_own}) == (
        "runner 'gs-runner-east' has 2 labels no other runner has (['lane-east', 'zone-0']): set its 'role_label'"
    )
    named = [{**r, "role_label": f"zone-{i}"} for i, r in enumerate(two_own)]
    assert [r.role_label for r in parse_topology({**topology, "runners": named}).runners] == ["zone-0", "zone-1"]
    shared = [{**r, "role_label": "linux"} for r in topology["runners"]]
    with pytest.raises(TopologyError, match="'role_label' 'linux' must be one of its labels and no other's"):
        parse_topology({**topology, "runners": shared})


def test_the_deploy_jobs_run_on_the_topologys_labels() -> None:
    topology = parse_topology(raw(FIXTURES / "topology.second.yml"))
    workflow = deploy_workflow(pipeline_params(topology, Faults()))
    for job in ("deploy", "health-check", "rollback"):
        assert workflow["jobs"][job]["runs-on"] == [
            "self-hosted",
            "preprod-fleet",
            "${{ needs.select-runner.outputs.label }}",
        ]
    # select-runner answers with the primary's label while it is online, else the secondary's.
    pick = workflow["jobs"]["select-runner"]["steps"][0]["with"]
    assert (pick["primary"], pick["primary_label"], pick["secondary_label"]) == (
        "gs-runner-east",
        "lane-east",
        "lane-west",
    )
