"""Issue 12: only configured units are stopped, every restoration is proven with `systemctl is-active`, failed undos
are retried for as long as the bot runs, and no two verifications fault the same host and unit at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.metrics import Metrics
from bot.model import ScenarioId, Verification, VerificationConclusion
from bot.texts import safety as texts
from scenarios import EngineBusy, ScenarioEngine
from scenarios.journal import InjectionError, Journal
from tests.fakes.monitoring import factory
from tests.scenarios.world import BACKEND, PRIMARY, UNIT, World, request, world

GLOB = "actions.runner.*.service"
OTHER_RUNNER = "actions.runner.paws360-paws360.second-agent.service"


def journal(w: World, vid: str = "v-j", *, max_units: int = 5) -> Journal:
    return Journal(
        store=w.store, ssh=w.ssh, clock=w.clock, verification_id=vid, restorations=[], command_timeout=5,
        max_units=max_units,
    )  # fmt: skip


def engine(w: World, *, settings_changes: Mapping[str, object] | None = None, metrics: Metrics | None = None) -> None:
    """The world's engine again, with changed settings and the pending-undo gauge wired as the runtime wires it."""
    settings = dataclasses.replace(w.settings, **(settings_changes or {}))
    hosts = list(settings.ssh.hosts)
    w.engine = ScenarioEngine(
        settings=settings, store=w.store, github=w.app, ssh=w.ssh, probe=w.probe,
        monitoring=factory(w.prom, w.am, w.grafana), reporter=w.reporter, clock=w.clock,
        on_undo_pending=(lambda c: metrics.undos_pending(c, hosts=hosts)) if metrics else None,
    )  # fmt: skip


async def fail_backend_undo(w: World, vid: str = "v-old") -> None:
    """Stop the backend, then lose the host before the undo: the undo fails and stays pending."""
    j = journal(w, vid)
    async with j.stopped(host=BACKEND, unit="paws360-backend"):
        w.ssh.unreachable.add(BACKEND)
    assert [r.ok for r in j.restorations] == [False]


# --- 2. stop only what is configured; prove every restoration ------------------------------------------------------


async def test_a_glob_is_expanded_before_the_stop_and_each_unit_is_journaled_and_restored(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.ssh.units[PRIMARY].update({OTHER_RUNNER: True, "sshd.service": True})
        j = journal(w)
        async with j.stopped(host=PRIMARY, unit=GLOB):
            assert w.ssh.units[PRIMARY] == {UNIT.format(PRIMARY): False, OTHER_RUNNER: False, "sshd.service": True}
            pending = await w.store.journal_pending()
            assert sorted(e.undo for e in pending) == sorted(
                ("sudo", "systemctl", "start", u) for u in (UNIT.format(PRIMARY), OTHER_RUNNER)
            )
        assert all(w.ssh.units[PRIMARY].values())
        assert [r.ok for r in j.restorations] == [True, True]
        assert await w.store.journal_pending() == []
        commands = [args for host, args in w.ssh.calls if host == PRIMARY]
    assert commands[0] == ("systemctl", "list-units", "--all", "--plain", "--no-legend", GLOB)
    assert not [a for a in commands if a[-2] in ("stop", "start") and "*" in a[-1]], "a glob reached stop/start"


@pytest.mark.parametrize(
    ("pattern", "units", "max_units", "message"),
    [
        ("*", {}, 5, f"`*` {texts.UNIT_PROTECTED}."),
        ("-H", {}, 5, f"`-H` {texts.UNIT_LOOKS_LIKE_OPTION}."),
        (
            "[s]shd-extra*",
            {"sshd-extra.service": True},
            5,
            texts.PATTERN_MATCHED_PROTECTED.format(pattern="[s]shd-extra*", unit="sshd-extra.service", host=PRIMARY),
        ),
        (
            GLOB,
            {OTHER_RUNNER: True},
            1,
            texts.PATTERN_MATCHED_TOO_MANY.format(
                pattern=GLOB, count=2, host=PRIMARY, units=f"{UNIT.format(PRIMARY)}, {OTHER_RUNNER}", maximum=1
            ),
        ),
        ("nothing-*", {}, 5, texts.PATTERN_MATCHED_NOTHING.format(pattern="nothing-*", host=PRIMARY)),
    ],
    ids=["star", "option", "sshd-after-expansion", "too-many", "matches-nothing"],
)
async def test_refused_patterns_stop_nothing(
    tmp_path: Path, pattern: str, units: dict[str, bool], max_units: int, message: str
) -> None:
    async with world(tmp_path) as w:
        w.ssh.units[PRIMARY].update(units)
        with pytest.raises(InjectionError) as refused:
            async with journal(w, max_units=max_units).stopped(host=PRIMARY, unit=pattern):
                pytest.fail("the block ran")
        assert str(refused.value) == message
        assert all(w.ssh.units[PRIMARY].values())
        assert not [a for _, a in w.ssh.calls if "stop" in a]
        assert await w.store.journal_pending() == []


async def test_a_start_that_exits_0_but_leaves_the_unit_inactive_is_a_failed_restoration_then_retried(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        w.ssh.dies_on_start.add((BACKEND, "paws360-backend"))
        j = journal(w)
        async with j.stopped(host=BACKEND, unit="paws360-backend"):
            pass
        [restoration] = j.restorations
        assert not restoration.ok
        assert restoration.error == texts.UNDO_NOT_ACTIVE.format(
            command="sudo systemctl start paws360-backend", host=BACKEND, unit="paws360-backend", state="inactive"
        )
        starts = [a for h, a in w.ssh.fresh_calls if a[-2:] == ("start", "paws360-backend")]
        assert len(starts) == 3  # every attempt on a new connection
        [pending] = await w.store.journal_pending()
        assert pending.ok is False
        # The unit's cause is mended: the next retry pass restores it and says so.
        w.ssh.dies_on_start.clear()
        engine(w)
        assert w.engine is not None
        assert await w.engine.retry_undos() == 0
        assert w.backend_running()
        assert await w.store.journal_pending() == []


# --- 3. an undo always gets through --------------------------------------------------------------------------------


async def test_a_pending_undo_is_retried_every_interval_until_it_works_and_the_gauge_goes_1_then_0(
    tmp_path: Path,
) -> None:
    metrics = Metrics()

    def pending() -> float | None:
        return metrics.registry.get_sample_value("verify_staging_undo_pending", {"host": BACKEND})

    async with world(tmp_path) as w:
        ssh = dataclasses.replace(w.settings.ssh, undo_retry_interval=30)
        engine(w, settings_changes={"ssh": ssh}, metrics=metrics)
        assert w.engine is not None
        await fail_backend_undo(w)
        attempts: list[float] = []

        async def note(host: str, argv: tuple[str, ...]) -> None:
            if host == BACKEND and argv[-2:] == ("start", "paws360-backend"):
                attempts.append(w.clock.monotonic())

        w.ssh.before = note
        began = w.clock.monotonic()
        w.engine.start_undo_keeper()
        await w.clock.sleep(1)
        assert pending() == 1
        await w.clock.sleep(95)  # the host comes back after 96 s: passes at 0, 30, 60 and 90 s fail
        w.ssh.unreachable.discard(BACKEND)
        deadline = w.clock.monotonic() + 120
        while await w.store.journal_pending() and w.clock.monotonic() < deadline:
            await w.clock.sleep(1)
        assert w.backend_running()
        assert pending() == 0
        assert [round(t - began) for t in attempts] == [0, 30, 60, 90, 120]
        assert await w.store.journal_pending() == []


async def test_a_new_verification_touching_a_host_with_a_pending_undo_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        engine(w)
        assert w.engine is not None
        await fail_backend_undo(w)
        [entry] = await w.store.journal_pending()
        with pytest.raises(EngineBusy) as refused:
            await w.engine.start(request("v-new", (ScenarioId.NORMAL_DEPLOY,)))
        assert str(refused.value) == texts.UNDO_PENDING_REFUSED.format(
            undo="sudo systemctl start paws360-backend", host=BACKEND, verification_id="v-old",
            error=entry.error, interval=w.settings.ssh.undo_retry_interval,
        )  # fmt: skip
        assert w.engine.running("staging") is None
        w.ssh.unreachable.discard(BACKEND)
        assert await w.engine.retry_undos() == 0
        v = await w.verify(ScenarioId.NORMAL_DEPLOY, vid="v-new")
    assert v.conclusion is VerificationConclusion.SUCCESS


# --- 5. one fault at a time per host, across environments ----------------------------------------------------------


async def test_two_environments_sharing_a_host_cannot_fault_the_same_unit_at_once(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        staging = w.settings.environments["staging"]
        eu = dataclasses.replace(staging, name="staging-eu")
        engine(w, settings_changes={"environments": {"staging": staging, "staging-eu": eu}})
        assert w.engine is not None
        await w.engine.start(request("v-1", (ScenarioId.FAILOVER,)))
        second = dataclasses.replace(request("v-2", (ScenarioId.FAILOVER,)), environment="staging-eu")
        with pytest.raises(EngineBusy) as refused:
            await w.engine.start(second)
        await w.engine.wait("v-1")
        await w.engine.start(second)  # once the first has finished, the second may go
        await w.engine.wait("v-2")
        first, later = await w.store.load_verification("v-1"), await w.store.load_verification("v-2")
    assert str(refused.value) in {
        texts.UNIT_BUSY_REFUSED.format(other="v-1", environment="staging", unit=unit, host=host)
        for host, unit in [(r.host, r.service) for r in staging.runners] + [(staging.backend.host, "paws360-backend")]
    }
    assert first is not None and later is not None
    assert first.conclusion is VerificationConclusion.SUCCESS and later.conclusion is VerificationConclusion.SUCCESS


async def test_a_late_restoration_is_reported_again_on_the_finished_verification(tmp_path: Path) -> None:
    """The verification's check runs and PR comment said the restoration failed; once the keeper restores the unit,
    the reporters are told again, so the reports no longer say staging is broken."""
    async with world(tmp_path) as w:
        engine(w)
        assert w.engine is not None
        j = journal(w, "v-old")
        async with j.stopped(host=BACKEND, unit="paws360-backend"):
            w.ssh.unreachable.add(BACKEND)
        finished = Verification(
            verification_id="v-old", installation_id=1, repository="paws360/paws360", pull_request=42,
            head_sha="a" * 40, ref="refs/heads/main", environment="staging", requested_by="alice-admin",
            scenarios=[], restorations=j.restorations, completed_at=w.clock.now(),
            conclusion=VerificationConclusion.FAILURE,
        )  # fmt: skip
        await w.store.save_verification(finished)
        assert await w.engine.retry_undos() == 1 and w.reporter.finished_list == []
        w.ssh.unreachable.discard(BACKEND)
        assert await w.engine.retry_undos() == 0
        [told] = w.reporter.finished_list
        assert told.verification_id == "v-old" and [r.ok for r in told.restorations] == [True]
        stored = await w.store.load_verification("v-old")
        assert stored is not None and [r.ok for r in stored.restorations] == [True]
