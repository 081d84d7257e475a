"""The rules a topology must keep to be a world the demo can run in: GitHub roles for users, and runner labels the
deploy jobs can be matched on. Each broken rule is a `TopologyError` with one sentence naming the key."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from lab.github.config import Permission

if TYPE_CHECKING:
    from lab.topology import RunnerTopo, Topology


class TopologyError(Exception):
    """A missing or invalid topology key; the message names it."""


def deploy_labels(value: object, runners: tuple[RunnerTopo, ...]) -> tuple[str, ...]:
    """The `deploy_labels` key, or the labels every runner shares (in the first runner's order)."""
    if value is None:
        shared = [label for label in (runners[0].labels if runners else ()) if all(label in r.labels for r in runners)]
        if not shared:
            raise TopologyError("the runners share no label: set topology key 'deploy_labels'")
        return tuple(shared)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise TopologyError("topology key 'deploy_labels' must be a non-empty list of labels")
    for runner in runners:
        missing = [label for label in value if label not in runner.labels]
        if missing:
            raise TopologyError(f"runner {runner.name!r} lacks the deploy label(s) {missing} of 'deploy_labels'")
    return tuple(value)


def with_role_label(runner: RunnerTopo, topology: Topology) -> RunnerTopo:
    """The runner with its role label: given, or the one label of its own that no other runner carries."""
    others = {label for r in topology.runners if r.name != runner.name for label in r.labels}
    if runner.role_label:
        if runner.role_label not in runner.labels or runner.role_label in others:
            raise TopologyError(
                f"runner {runner.name!r}: 'role_label' {runner.role_label!r} must be one of its labels and no other's"
            )
        return runner
    own = [label for label in runner.labels if label not in others and label not in topology.deploy_labels]
    if len(own) != 1:
        raise TopologyError(
            f"runner {runner.name!r} has {len(own)} labels no other runner has ({own}): set its 'role_label'"
        )
    return replace(runner, role_label=own[0])


def _permission(value: str, what: str) -> Permission:
    try:
        return Permission(value)
    except ValueError:
        roles = ", ".join(p.value for p in Permission if p is not Permission.NONE)
        raise TopologyError(f"{what} is {value!r}; it must be one of {roles}") from None


def check_roles(topology: Topology) -> None:
    """Every user's permission and `minimum_permission` are GitHub roles; the authorized user reaches the minimum,
    the unauthorized one does not (else the demo's refusal and acceptance would swap)."""
    minimum = _permission(topology.minimum_permission, "topology key 'minimum_permission'")
    for user in topology.users:
        role = _permission(user.permission, f"the permission of topology user {user.login!r}")
        if user.role == "authorized" and not role.at_least(minimum):
            raise TopologyError(f"authorized user {user.login!r} ({role}) is below 'minimum_permission' ({minimum})")
        if user.role == "unauthorized" and role.at_least(minimum):
            raise TopologyError(f"unauthorized user {user.login!r} ({role}) reaches 'minimum_permission' ({minimum})")
    roles = {r.role for r in topology.runners}
    if not {"primary", "secondary"} <= roles:
        raise TopologyError("topology key 'runners' needs a runner with role primary and one with role secondary")
