"""Several `serve` replicas of the bot on one PostgreSQL database, behind a round-robin balancer, on a lab; each
replica runs with a host name of its own (a UTS namespace), as pods on different nodes do, so a replica that dies is
taken over only once its lease expires. Shared by tests/e2e/test_replicas.py and benchmarks/replicas.py."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

from tests.e2e.checks import at
from tests.e2e.harness import BOT_START_TIMEOUT, Verdict, World, running_world
from tests.reliability.crash import primary_runner
from tests.support.ports import PortReservation, reserve_port
from tests.support.postgres import database_for_processes
from tests.support.round_robin import RoundRobinProxy
from tests.support.wait import wait_for


def own_host_prefix() -> list[str]:
    """The argv prefix that runs a command with a host name of its own: `unshare --uts` (as root; otherwise in a
    user namespace that maps this user to root inside, which the kernel allows an unprivileged user)."""
    prefix = ["unshare", "--uts"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--uts"]
    probe = subprocess.run([*prefix, "hostname", "probe"], capture_output=True, text=True, timeout=30, check=False)
    if probe.returncode != 0:
        raise RuntimeError(f"cannot give a replica a host name of its own ({' '.join(prefix)}): {probe.stderr}")
    return prefix


def replica_settings(world: World, *, lease_seconds: float) -> Path:
    """The lab's settings for `serve`, with `database` as a mapping that sets the lease (its SQLite path unused:
    the replicas get DATABASE_URL)."""
    raw = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
    raw["database"] = {"path": str(world.database()), "lease_seconds": lease_seconds}
    path = world.workdir / "replicas.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


class Replica:
    """One `verify-staging serve` on host `host` (its UTS name) and a port of its own."""

    def __init__(self, world: World, settings: Path, *, host: str, database_url: str, prefix: list[str]) -> None:
        self.host = host
        self.reservation: PortReservation = reserve_port()
        self.url = self.reservation.url
        self.log = world.workdir / f"replica-{host}.log"
        serve = [sys.executable, "-m", "bot", "serve", "--settings", str(settings)]
        serve += ["--host", "127.0.0.1", "--port", str(self.reservation.port), "--reuse-port"]
        # unshare execs sh, which sets the name and execs python: the process (and its pid) is the bot's.
        argv = [*prefix, "sh", "-c", 'hostname "$0" && exec "$@"', host, *serve]
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

    def owns(self) -> bool:
        return bool((self.health() or {}).get("owned_verifications"))

    def wait_up(self) -> None:
        def up() -> dict[str, object] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"a replica exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            return self.health()

        wait_for(up, timeout=BOT_START_TIMEOUT, what=f"replica {self.host}'s /healthz")

    def kill(self) -> None:
        """SIGKILL: no lease is given back, no fault restored."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.reservation.release()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reservation.release()


class Replicated:
    """A lab whose webhooks `proxy` spreads over `replicas`, all on the database at `database_url`."""

    def __init__(self, world: World, *, database_url: str, lease_seconds: float) -> None:
        self.world, self.database_url, self.lease_seconds = world, database_url, lease_seconds
        self.settings = replica_settings(world, lease_seconds=lease_seconds)
        self.prefix = own_host_prefix()
        self.replicas: list[Replica] = []
        self._started = 0

    def start_replica(self) -> Replica:
        """One more replica (not yet behind the balancer) on a host name not used before."""
        self._started += 1
        host = f"replica-{self._started}"
        return Replica(self.world, self.settings, host=host, database_url=self.database_url, prefix=self.prefix)

    def replace(self, dead: Replica, proxy: RoundRobinProxy) -> Replica:
        """A new replica in `dead`'s place, behind the balancer once it answers (a pod rescheduled)."""
        index = self.replicas.index(dead)
        fresh = self.start_replica()
        fresh.wait_up()
        self.replicas[index] = fresh
        proxy.upstreams[index] = fresh.url
        return fresh

    def owner(self) -> Replica:
        """The replica that holds a verification's lease (waits, bounded, for one to)."""
        return wait_for(
            lambda: next((r for r in self.replicas if r.proc.poll() is None and r.owns()), None),
            timeout=60,
            what="a replica to own the verification",
        )


@contextlib.contextmanager
def replicated_world(
    workdir: Path, *, count: int = 2, lease_seconds: float
) -> Iterator[tuple[Replicated, RoundRobinProxy]]:
    """A lab without its own bot, a fresh PostgreSQL database, and `count` replicas on it behind a balancer that
    listens where the lab delivers its webhooks."""
    with running_world(workdir, bot=False) as world, database_for_processes() as url:
        world.database_url = url
        replicated = Replicated(world, database_url=url, lease_seconds=lease_seconds)
        try:
            replicated.replicas.extend(replicated.start_replica() for _ in range(count))
            for replica in replicated.replicas:
                replica.wait_up()
            upstreams = [r.url for r in replicated.replicas]
            with RoundRobinProxy(world.port, upstreams, metrics_from="runner-poller") as proxy:
                yield replicated, proxy
        finally:
            for replica in replicated.replicas:
                replica.stop()


@dataclass
class Takeover:
    """What followed the kill of the replica that owned a `failover` verification."""

    owner: Replica  # killed
    owner_id: str  # its id (/healthz `replica`)
    survivor: Replica
    restored_s: float  # from the kill to the lab's `runner_started` of the primary runner
    verdict: Verdict  # the verification's check runs, once the overall one completed
    before_comment: int  # the newest PR comment id before the verification began


def kill_the_owner_in_failover(replicated: Replicated) -> Takeover:
    """`/verify-staging failover`; once the primary runner is stopped, SIGKILL the replica that owns it; wait for the
    runner to start again (lab truth) and for the verdict."""
    world = replicated.world
    runner = primary_runner(world)
    before_check = max((int(r["id"]) for r in world.check_runs()), default=0)
    before_comment = max((int(c["id"]) for c in world.issue_comments()), default=0)
    start = len(world.truth())
    world.comment("/verify-staging failover")
    world.wait_event("runner_stopped", since=start, runner=runner, what="the primary runner stopped", timeout=120)
    owner = replicated.owner()
    survivor = next(r for r in replicated.replicas if r is not owner)
    owner_id = str((owner.health() or {})["replica"])
    owner.kill()
    killed_at = datetime.now(UTC)
    killed_truth = len(world.truth())
    started = world.wait_event(
        "runner_started", since=killed_truth, runner=runner, what="the runner started again",
        timeout=replicated.lease_seconds + 60,
    )  # fmt: skip
    restored_s = (at(started) - killed_at).total_seconds()
    verdict = world.wait_verdict(after_id=before_check, timeout=120)
    return Takeover(owner, owner_id, survivor, restored_s, verdict, before_comment)
