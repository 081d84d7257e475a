"""Two `serve` replicas on one PostgreSQL database behind a round-robin balancer, on the lab (issue 16 §4): a full
verification passes with the lab's webhooks spread over both, and when the replica that owns a verification is
killed (SIGKILL) while the primary runner is stopped in `failover`, the other one restores the runner within
`lease_seconds` + 15 s of the kill (the lab's truth log), concludes it `cancelled` and says why on the PR."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.checks import at
from tests.e2e.harness import BOT_START_TIMEOUT, World, running_world
from tests.reliability.crash import CANCELLED_HEADLINE, faults_left, primary_runner, wait_restored
from tests.support.ports import PortReservation, reserve_port
from tests.support.postgres import database_for_processes
from tests.support.round_robin import RoundRobinProxy
from tests.support.wait import wait_for

pytestmark = pytest.mark.lab

LEASE_SECONDS = 10.0
SCENARIOS = ("normal-deploy", "concurrency", "failover", "rollback", "monitoring")


def replica_settings(world: World) -> Path:
    """The lab's settings for `serve`, with `database` as a mapping that sets a short lease (its SQLite path unused:
    the replicas get DATABASE_URL)."""
    raw = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
    raw["database"] = {"path": str(world.database()), "lease_seconds": LEASE_SECONDS}
    path = world.workdir / "replicas.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


class Replica:
    def __init__(self, world: World, settings: Path, index: int, *, database_url: str) -> None:
        self.reservation: PortReservation = reserve_port()
        self.url = self.reservation.url
        self.log = world.workdir / f"replica-{index}.log"
        argv = [sys.executable, "-m", "bot", "serve", "--settings", str(settings)]
        argv += ["--host", "127.0.0.1", "--port", str(self.reservation.port), "--reuse-port"]
        with self.log.open("ab") as log:
            env = {**world.bot_environment(), "DATABASE_URL": database_url}
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)

    def health(self) -> dict[str, object] | None:
        with contextlib.suppress(requests.RequestException, ValueError):
            response = requests.get(self.url + "/healthz", timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        return None

    def wait_up(self) -> None:
        def up() -> dict[str, object] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"a replica exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            return self.health()

        wait_for(up, timeout=BOT_START_TIMEOUT, what="a replica's /healthz")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reservation.release()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, list[Replica], RoundRobinProxy]]:
    with running_world(Path(tmp_path_factory.mktemp("replicas")), bot=False) as world, database_for_processes() as url:
        settings = replica_settings(world)
        started: list[Replica] = []
        try:
            for index in range(2):
                started.append(Replica(world, settings, index, database_url=url))
            for replica in started:
                replica.wait_up()
            with RoundRobinProxy(world.port, [r.url for r in started], metrics_from="runner-poller") as proxy:
                yield world, started, proxy
        finally:
            for replica in started:
                replica.stop()


def test_a_full_verification_passes_with_webhooks_spread_over_two_replicas(
    replicas: tuple[World, list[Replica], RoundRobinProxy],
) -> None:
    world, running, proxy = replicas
    ids = {str((r.health() or {})["replica"]) for r in running}
    assert len(ids) == 2
    verdict = world.verify("/verify-staging")
    assert verdict.conclusions() == dict.fromkeys(SCENARIOS, "success"), verdict.conclusions()
    assert verdict.overall["conclusion"] == "success"
    assert min(proxy.forwarded) >= 10, proxy.forwarded  # both replicas received a share of the webhooks
    assert faults_left(world) == []


def test_the_other_replica_restores_a_killed_owners_runner_and_cancels_its_verification(
    replicas: tuple[World, list[Replica], RoundRobinProxy],
) -> None:
    world, running, _ = replicas
    assert faults_left(world) == [], "the lab was not healthy before the kill"
    runner = primary_runner(world)
    before_check = max((int(r["id"]) for r in world.check_runs()), default=0)
    before_comment = max((int(c["id"]) for c in world.issue_comments()), default=0)
    start = len(world.truth())
    world.comment("/verify-staging failover")
    world.wait_event("runner_stopped", since=start, runner=runner, what="the primary runner stopped", timeout=120)
    owner = next(r for r in running if (r.health() or {}).get("owned_verifications"))
    survivor = next(r for r in running if r is not owner)
    owner_id = str((owner.health() or {})["replica"])
    owner.proc.kill()
    killed_at = datetime.now(UTC)
    killed_truth = len(world.truth())
    owner.proc.wait(timeout=10)
    started = world.wait_event(
        "runner_started", since=killed_truth, runner=runner, what="the runner started again", timeout=LEASE_SECONDS + 60
    )
    restored_s = (at(started) - killed_at).total_seconds()
    print(f"runner restored {restored_s:.1f} s after the owner was killed (lease {LEASE_SECONDS:g} s)")
    assert restored_s <= LEASE_SECONDS + 15, restored_s
    verdict = world.wait_verdict(after_id=before_check, timeout=120)
    assert verdict.overall["conclusion"] == "cancelled"
    comments = [str(c["body"]) for c in world.bot_comments(since_id=before_comment)]
    assert comments and CANCELLED_HEADLINE in comments[-1]
    assert "interrupted during failover" in comments[-1] and owner_id in comments[-1], comments[-1][:2000]
    assert wait_restored(world) == []
    # The survivor gives the verification's lease back once its reporters are done with it.
    wait_for(
        lambda: (survivor.health() or {}).get("owned_verifications") == [] or None,
        timeout=60,
        what="the survivor to give the taken-over verification back",
    )
