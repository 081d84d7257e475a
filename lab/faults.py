"""The lab's faults (`--fault NAME`): each one changes the simulated world, never the bot.

`parse_faults(names)` turns command-line names into a `Faults` value; the world reads its flags when it builds the
pipeline, the services, the simulated GitHub and the monitoring configs. `POST /_lab/faults` turns most of them on
and off while the lab runs (lab/fault_control.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    NO_CONCURRENCY = "no-concurrency"
    NO_SECONDARY = "no-secondary"
    SLOW_FAILOVER = "slow-failover"
    NO_ROLLBACK = "no-rollback"
    SLOW_DEPLOY = "slow-deploy"
    REDIS_DOWN = "redis-down"
    MISSING_ALERT_RULE = "missing-alert-rule"
    NO_NOTIFICATION = "no-notification"
    WEBHOOK_LOSS = "webhook-loss"
    WEBHOOK_CHAOS = "webhook-chaos"
    GITHUB_FLAKY = "github-flaky"
    DEPLOY_LOG_ERROR = "deploy-log-error"
    PARTIAL_ROLLBACK = "partial-rollback"
    LABEL_MISMATCH = "label-mismatch"


class UnknownFault(ValueError):
    """A fault name the lab does not know; the message lists the known ones."""


# Contract shares: 30% of deliveries lost; 10% of REST calls answer 502; one rate-limit 403 a minute.
WEBHOOK_LOSS_SHARE = 0.3
WEBHOOK_CHAOS_DUPLICATE_SHARE = 0.3
WEBHOOK_CHAOS_MAX_DELAY = 2.0
GITHUB_FLAKY_ERROR_SHARE = 0.1
GITHUB_FLAKY_RATE_LIMIT_EVERY = 60.0
# The rule the `missing-alert-rule` fault leaves out of Prometheus.
MISSING_RULE = "DeploymentDurationHigh"
# What the deploy step reports as an error on the primary runner under `deploy-log-error`, while it still exits 0.
DEPLOY_LOG_ERROR_MESSAGE = "Could not sync the frontend assets; continuing with the old ones."


@dataclass(frozen=True)
class Faults:
    """The set of active faults."""

    active: frozenset[Fault] = frozenset()

    def __contains__(self, fault: object) -> bool:
        return fault in self.active

    @property
    def names(self) -> list[str]:
        return sorted(f.value for f in self.active)


def parse_faults(names: Iterable[str]) -> Faults:
    """Faults from their contract names; raises UnknownFault for any other name."""
    known = {f.value: f for f in Fault}
    chosen: set[Fault] = set()
    for name in names:
        if name not in known:
            raise UnknownFault(f"unknown fault {name!r}; known faults: {', '.join(known)}")
        chosen.add(known[name])
    return Faults(frozenset(chosen))


def labels_dropped(faults: Faults, *, role: str, deploy_labels: Sequence[str]) -> set[str]:
    """The labels a runner registers without under the faults. label-mismatch: the primary lacks the topology's
    deploy labels bar `self-hosted` (the deploy job's `runs-on` asks for them), so the deploy job meant for it waits
    for a runner that never comes."""
    if Fault.LABEL_MISMATCH not in faults or role != "primary":
        return set()
    return set(deploy_labels) - {"self-hosted"}
