"""Two replicas of the bot on one database (issue 16 §2): one owner per verification and per unit, and a dead
owner's verification taken over once its lease has expired, with what it stopped started again."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.leases import Leases
from bot.model import ScenarioConclusion, ScenarioId, VerificationConclusion
from bot.texts import safety as texts
from scenarios import EngineBusy, ScenarioEngine
from scenarios.recovery import INTERRUPTED_REASON
from scenarios.takeover import Takeover
from tests.fakes.monitoring import factory
from tests.scenarios.world import PRIMARY, UNIT, World, request, world

LEASE = 30.0


@dataclass
class Replica:
    engine: ScenarioEngine
    leases: Leases
    takeover: Takeover


async def dies_in_failover(w: World, dead: Replica, verification_id: str) -> float:
    """`dead` starts a failover verification and freezes for good once the primary runner is stopped (its dispatch
    never returns and no heartbeat renews its leases: as good as a killed process); the virtual time it froze."""
    frozen = asyncio.get_running_loop().create_future()

    async def frozen_dispatch(**kw: object) -> int | None:
        frozen.set_result(w.clock.monotonic())
        await asyncio.Event().wait()
        return None

    w.repo.dispatch_workflow = frozen_dispatch  # type: ignore[method-assign]
    await dead.engine.start(request(verification_id, (ScenarioId.FAILOVER,)))
    died: float = await asyncio.wait_for(frozen, timeout=30)
    assert not w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
    return died


async def bury(verification_id: str) -> None:
    """End the frozen "dead" replica's verification task, and wait for it (it still writes its end to the store),
    so nothing runs on once the test's store is closed."""
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == f"verification {verification_id}"]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def replica(w: World, name: str, *, environments: dict[str, object] | None = None) -> Replica:
    """Another process of the bot over the world's database, SSH and GitHub (wired as bot/runtime/app.py does)."""
    settings = dataclasses.replace(w.settings, **({"environments": environments} if environments else {}))
    leases = Leases(store=w.store, clock=w.clock, replica=name, lease_seconds=LEASE)
    engine = ScenarioEngine(
        settings=settings, store=w.store, github=w.app, ssh=w.ssh, probe=w.probe,
        monitoring=factory(w.prom, w.am, w.grafana), reporter=w.reporter, clock=w.clock, leases=leases,
    )  # fmt: skip
    takeover = Takeover(
        settings=settings, store=w.store, ssh=w.ssh, reporter=w.reporter, clock=w.clock, leases=leases,
        owns=engine.owns,
    )  # fmt: skip
    return Replica(engine, leases, takeover)


async def test_a_second_replica_is_refused_the_environment_and_the_units_another_replica_holds(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        staging = w.settings.environments["staging"]
        both = {"staging": staging, "staging-eu": dataclasses.replace(staging, name="staging-eu")}
        a, b = replica(w, "replica-a", environments=both), replica(w, "replica-b", environments=both)
        await a.engine.start(request("v-1", (ScenarioId.FAILOVER,)))
        assert a.leases.owned_verifications() == ["v-1"]
        with pytest.raises(EngineBusy) as same_environment:
            await b.engine.start(request("v-2", (ScenarioId.FAILOVER,)))
        eu = dataclasses.replace(request("v-3", (ScenarioId.FAILOVER,)), environment="staging-eu")
        with pytest.raises(EngineBusy) as same_units:
            await b.engine.start(eu)
        assert b.engine.running("staging-eu") is None and b.leases.held() == []
        await a.engine.wait("v-1")
        assert a.leases.held() == []  # given back at the end, so the other replica need not wait for expiry
        await b.engine.start(eu)
        await b.engine.wait("v-3")
        done = await w.store.load_verification("v-3")
        await a.engine.stop()
        await b.engine.stop()
    assert str(same_environment.value) == texts.ENVIRONMENT_BUSY_ELSEWHERE.format(other="v-1", environment="staging")
    assert str(same_units.value) in {
        texts.UNIT_BUSY_REFUSED.format(other="v-1", environment="staging", unit=unit, host=host)
        for host, unit in [(r.host, r.service) for r in staging.runners] + [(staging.backend.host, "paws360-backend")]
    }
    assert done is not None and done.conclusion is VerificationConclusion.SUCCESS


async def test_a_dead_owners_stopped_runner_is_restored_by_another_replica_once_the_lease_expires(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        a, b = replica(w, "replica-a"), replica(w, "replica-b")
        died = await dies_in_failover(w, a, "v-9")
        # While a's lease lives, b neither takes the verification over nor "retries" a's undo behind its back.
        assert await b.takeover.once() == []
        assert await b.engine.retry_undos() == 0
        assert not w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
        await w.clock.sleep(LEASE + 1 - (w.clock.monotonic() - died))
        concluded = await b.takeover.once()
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
        v = await w.store.load_verification("v-9")
        await bury("v-9")
    assert [c.verification_id for c in concluded] == ["v-9"]
    assert v is not None and v.conclusion is VerificationConclusion.CANCELLED
    assert v.reason == texts.OWNER_STOPPED_REASON.format(owner="replica-a", replica="replica-b").format(
        where="failover"
    )
    assert [(r.host, r.ok, r.after_restart) for r in v.restorations] == [(PRIMARY, True, True)]
    assert v.scenario(ScenarioId.FAILOVER).conclusion is ScenarioConclusion.ERROR
    assert w.reporter.finished_list[-1].verification_id == "v-9"
    assert b.leases.held() == []


async def test_a_dead_owners_runner_is_restored_as_its_lease_expires_not_a_heartbeat_later(tmp_path: Path) -> None:
    """The other replica's takeover looks again just after the dead owner's lease expires, not at its next heartbeat
    (which could come up to lease_seconds / 3 later, the runner stopped all along)."""
    async with world(tmp_path) as w:
        a, b = replica(w, "replica-a"), replica(w, "replica-b")
        await dies_in_failover(w, a, "v-5")
        held = await w.store.lease_owner("verification:v-5")
        assert held is not None and held[0] == "replica-a"
        expires_at = held[1]
        b.takeover.start()
        restored_at: float | None = None
        for _ in range(int(2 * LEASE / 0.05)):  # virtual time, bounded: two leases at most
            if w.ssh.running(PRIMARY, UNIT.format(PRIMARY)):
                restored_at = w.clock.now().timestamp()
                break
            await w.clock.sleep(0.05)
        await b.takeover.stop()
        await bury("v-5")
    assert restored_at is not None, "the runner was not restored within two leases"
    # Restored within a moment of the expiry; a pass only every heartbeat would leave up to LEASE / 3 more.
    assert expires_at < restored_at <= expires_at + 0.5, (restored_at - expires_at, LEASE / 3)


def dead_replica_of_this_machine() -> str:
    """The replica id a bot killed on this machine had: its process is gone."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return f"{socket.gethostname()}-{gone.pid}-0a0b0c"


async def test_a_bot_restarted_on_the_same_machine_recovers_at_once_instead_of_waiting_for_the_lease(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        await dies_in_failover(w, replica(w, dead_replica_of_this_machine()), "v-7")
        restarted = replica(w, "replica-new")
        concluded = await restarted.takeover.once(at_start=True)  # no time passes: the old lease is still live
        assert w.ssh.running(PRIMARY, UNIT.format(PRIMARY))
        assert await restarted.leases.others("") == {}  # its environment and unit leases went with it
        v = await w.store.load_verification("v-7")
        await bury("v-7")
    assert [c.verification_id for c in concluded] == ["v-7"]
    assert v is not None and v.reason == INTERRUPTED_REASON.format(where="failover")
