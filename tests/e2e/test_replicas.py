"""Two `serve` replicas on one PostgreSQL database behind a round-robin balancer, on the lab, each with a host name
of its own (issue 16 §4): a full verification passes with the lab's webhooks spread over both and measures what the
lab's truth says; when the replica that owns a verification is killed (SIGKILL) while the primary runner is stopped
in `failover`, the other one takes it over once the lease has expired, restores the runner within `lease_seconds` +
15 s of the kill (the lab's truth log), concludes it `cancelled` and says why on the PR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.checks import assert_measurements_match_truth
from tests.e2e.replicas import Replicated, kill_the_owner_in_failover, replicated_world
from tests.reliability.crash import CANCELLED_HEADLINE, faults_left, wait_restored
from tests.support.round_robin import RoundRobinProxy
from tests.support.wait import wait_for

pytestmark = pytest.mark.lab

LEASE_SECONDS = 10.0
#: The owner renews its leases every lease_seconds / 3 (bot/leases.py): at the kill, its lease has at least this
#: long to run, and no other replica may take it before.
LEASE_LEFT_AT_KILL = LEASE_SECONDS * 2 / 3
SCENARIOS = ("normal-deploy", "concurrency", "failover", "rollback", "monitoring")


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replicated, RoundRobinProxy]]:
    with replicated_world(Path(tmp_path_factory.mktemp("replicas")), lease_seconds=LEASE_SECONDS) as running:
        yield running


def test_a_full_verification_passes_with_webhooks_spread_over_two_replicas(
    replicas: tuple[Replicated, RoundRobinProxy],
) -> None:
    replicated, proxy = replicas
    world = replicated.world
    ids = {str((r.health() or {})["replica"]) for r in replicated.replicas}
    assert len(ids) == 2 and all(i.startswith(("replica-1-", "replica-2-")) for i in ids), ids
    verdict = world.verify("/verify-staging")
    assert verdict.conclusions() == dict.fromkeys(SCENARIOS, "success"), verdict.conclusions()
    assert verdict.overall["conclusion"] == "success"
    assert min(proxy.forwarded) >= 10, proxy.forwarded  # both replicas received a share of the webhooks
    # The same measurements as one replica takes: each within 1 s of the lab's truth (read from PostgreSQL).
    stored = world.latest_verification()
    assert stored is not None
    report = stored.to_report()
    assert report["conclusion"] == "success"
    compared = assert_measurements_match_truth(world, report)
    assert {"failover_latency_s", "rollback_s"} <= {name for values in compared.values() for name in values}
    assert faults_left(world) == []


def test_the_other_replica_restores_a_killed_owners_runner_once_its_lease_expires(
    replicas: tuple[Replicated, RoundRobinProxy],
) -> None:
    replicated, _ = replicas
    world = replicated.world
    assert faults_left(world) == [], "the lab was not healthy before the kill"
    taken = kill_the_owner_in_failover(replicated)
    restored_s, verdict = taken.restored_s, taken.verdict
    print(f"runner restored {restored_s:.1f} s after the owner was killed (lease {LEASE_SECONDS:g} s)")
    # Not before the dead owner's lease ran out (it is on another host: no shortcut), and soon after.
    assert LEASE_LEFT_AT_KILL - 1 <= restored_s <= LEASE_SECONDS + 15, restored_s
    assert verdict.overall["conclusion"] == "cancelled"
    # The check runs say what happened too: the overall one names the dead replica and the takeover.
    overall = f"{verdict.overall['output']['summary']}\n{verdict.overall['output'].get('text') or ''}"
    assert taken.owner_id in overall and "took it over once its lease expired" in overall, overall[:2000]
    comments = [str(c["body"]) for c in world.bot_comments(since_id=taken.before_comment)]
    assert comments and CANCELLED_HEADLINE in comments[-1]
    assert "interrupted during failover" in comments[-1] and taken.owner_id in comments[-1], comments[-1][:2000]
    assert wait_restored(world) == []
    # The survivor gives the verification's lease back once its reporters are done with it.
    wait_for(
        lambda: (taken.survivor.health() or {}).get("owned_verifications") == [] or None,
        timeout=60,
        what="the survivor to give the taken-over verification back",
    )
