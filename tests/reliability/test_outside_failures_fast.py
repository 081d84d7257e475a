"""Outside systems failing, without the lab: JIRA down, an SSH host unreachable, Prometheus down. The real adapters
(bot/adapters/: jira.py, ssh.py, monitoring.py) talk to a closed 127.0.0.1 port; the real engine runs on the
shared fakes and virtual time (tests/scenarios/world.py). Each test reads what a user reads: the verdicts and their
reasons, the check runs, the PR comment, and what staging went through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import aiohttp
import asyncssh
import pytest

from bot.adapters.jira import JiraClient
from bot.adapters.monitoring import PrometheusClient
from bot.adapters.ssh import AsyncSSH
from bot.model import ScenarioConclusion, ScenarioId, Verification, VerificationConclusion
from bot.ports import (
    AlertRule,
    CommandResult,
    JiraAttachment,
    JiraPort,
    JiraTransition,
    PromAlert,
    Reporter,
    Sample,
    SSHPort,
)
from bot.reporting import build_reporter
from bot.reporting.escape import md_text
from bot.settings import SSHHost
from bot.texts.reports import VERIFICATION_HEADLINE
from scenarios import ScenarioEngine
from scenarios.context import MonitoringFactory
from scenarios.journal import is_active_argv, list_units_argv, start_argv, stop_argv
from tests.fakes.clock import FakeClock
from tests.fakes.jira import FakeJira
from tests.fakes.monitoring import factory
from tests.scenarios.world import BACKEND, PRIMARY, SECONDARY, UNIT, World, world
from tests.support.ports import closed_port

T = TypeVar("T")
ISSUE = "INFRA-473"


async def held(clock: FakeClock, call: Awaitable[T]) -> T:
    """Virtual time stands still while a real adapter waits on a socket or a thread: the fake clock cannot see that
    work and would otherwise jump to the next deadline (a scenario's whole budget) meanwhile."""
    async with clock.hold():
        return await call


class HeldJira:
    """bot.ports.JiraPort: the real client, on the world's virtual time."""

    def __init__(self, jira: JiraClient, clock: FakeClock) -> None:
        self._jira, self._clock = jira, clock

    async def status(self, key: str) -> str:
        return await held(self._clock, self._jira.status(key))

    async def transitions(self, key: str) -> list[JiraTransition]:
        return await held(self._clock, self._jira.transitions(key))

    async def do_transition(self, key: str, transition_id: str) -> None:
        await held(self._clock, self._jira.do_transition(key, transition_id))

    async def add_comment(self, key: str, body: str) -> str:
        return await held(self._clock, self._jira.add_comment(key, body))

    async def attachments(self, key: str) -> list[JiraAttachment]:
        return await held(self._clock, self._jira.attachments(key))

    async def add_attachment(self, key: str, *, filename: str, content: bytes) -> JiraAttachment:
        return await held(self._clock, self._jira.add_attachment(key, filename=filename, content=content))

    async def delete_attachment(self, attachment_id: str) -> None:
        await held(self._clock, self._jira.delete_attachment(attachment_id))


class HostRoutedSSH:
    """bot.ports.SSHPort: `real_hosts` through the real adapter (on virtual time), the others through the world's
    fake, which records every command it is given."""

    def __init__(self, *, real: AsyncSSH, real_hosts: set[str], fake: SSHPort, clock: FakeClock) -> None:
        self._real, self._real_hosts, self._fake, self._clock = real, real_hosts, fake, clock

    async def run(
        self, host: str, argv: Sequence[str], *, timeout: float | None = None, fresh: bool = False
    ) -> CommandResult:
        if host in self._real_hosts:
            return await held(self._clock, self._real.run(host, argv, timeout=timeout, fresh=fresh))
        return await self._fake.run(host, argv, timeout=timeout, fresh=fresh)


class HeldPrometheus:
    """bot.ports.PrometheusPort: the real client, on virtual time."""

    def __init__(self, prom: PrometheusClient, clock: FakeClock) -> None:
        self._prom, self._clock = prom, clock

    async def rules(self) -> list[AlertRule]:
        return await held(self._clock, self._prom.rules())

    async def alerts(self) -> list[PromAlert]:
        return await held(self._clock, self._prom.alerts())

    async def query(self, expr: str) -> list[Sample]:
        return await held(self._clock, self._prom.query(expr))


def rewire(
    w: World, *, ssh: SSHPort | None = None, monitoring: MonitoringFactory | None = None, jira: JiraPort | None = None
) -> None:
    """The world's engine again, with some ports replaced; with `jira`, the real reporters (check runs, PR comment,
    JIRA) report to the world's GitHub and to `jira` about issue INFRA-473."""
    settings = w.settings
    reporter: Reporter = w.reporter
    if jira is not None:
        settings = replace(settings, jira=replace(settings.jira, issue=ISSUE))
        reporter = build_reporter(settings=settings, github=w.app, jira=jira, clock=w.clock, extra=(w.reporter,))
    w.engine = ScenarioEngine(
        settings=settings, store=w.store, github=w.app, ssh=ssh or w.ssh, probe=w.probe,
        monitoring=monitoring or factory(w.prom, w.am, w.grafana), reporter=reporter, clock=w.clock,
    )  # fmt: skip


def verdicts(v: Verification) -> dict[ScenarioId, ScenarioConclusion | None]:
    return {s.id: s.conclusion for s in v.scenarios}


def closed_url() -> str:
    return f"http://127.0.0.1:{closed_port()}"  # held closed: nothing listens there


def staging_untouched(w: World) -> bool:
    return all(running for units in w.ssh.units.values() for running in units.values())


# ------------------------------------------------------------------------------------------------------- JIRA down
def fake_jira_down(_clock: FakeClock) -> tuple[JiraPort, str]:
    return FakeJira(down=True), "JIRA at http://jira.invalid could not be reached"


def real_jira_on_a_closed_port(clock: FakeClock) -> tuple[JiraPort, str]:
    url = closed_url()
    return HeldJira(JiraClient(url=url, token="pat-123", timeout=2), clock), f"JIRA at {url} could not be reached"


@pytest.mark.parametrize("down", [fake_jira_down, real_jira_on_a_closed_port], ids=["fake", "real-client"])
async def test_jira_down_leaves_the_verdicts_and_the_github_reports_whole(
    tmp_path: Path, down: Callable[[FakeClock], tuple[JiraPort, str]]
) -> None:
    async with world(tmp_path, "no-rollback") as w:
        jira, unreachable = down(w.clock)
        rewire(w, jira=jira)
        v = await w.verify(ScenarioId.NORMAL_DEPLOY, ScenarioId.ROLLBACK)

    # The scenarios' own verdicts: JIRA has no say in them.
    assert verdicts(v) == {
        ScenarioId.NORMAL_DEPLOY: ScenarioConclusion.PASSED,
        ScenarioId.ROLLBACK: ScenarioConclusion.FAILED,
    }
    assert v.conclusion is VerificationConclusion.FAILURE
    assert "the pipeline did not roll back" in (v.scenario(ScenarioId.ROLLBACK).reason or "")
    # What happened to JIRA, in the verification itself: the start comment and the results comment both failed.
    assert v.jira is not None and v.jira.issue == ISSUE and v.jira.error is not None
    assert v.jira.error.startswith(f"start comment: {unreachable}"), v.jira.error
    assert f"results comment: {unreachable}" in v.jira.error
    assert v.to_report()["jira"]["error"] == v.jira.error
    assert "pat-123" not in v.jira.error
    # GitHub got everything: every check run completed with its verdict, one PR comment with the final report.
    checks = {c.name: c for c in w.repo.check_runs.values()}
    assert {name: (c.status, c.conclusion) for name, c in checks.items()} == {
        "verify-staging": ("completed", "failure"),
        "verify-staging / normal-deploy": ("completed", "success"),
        "verify-staging / rollback": ("completed", "failure"),
    }
    comments = [c for c in w.repo.comments.values() if c.issue_number == 42]
    assert len(comments) == 1 and v.comment_id == comments[0].id
    body = comments[0].body
    assert VERIFICATION_HEADLINE[VerificationConclusion.FAILURE] in body
    assert f"JIRA: {ISSUE} (start comment: {md_text(unreachable)}" in body
    assert all(r.ok for r in v.restorations) and staging_untouched(w)


# ------------------------------------------------------------------------------------------- an SSH host unreachable
@pytest.fixture
def ssh_key(tmp_path: Path) -> Path:
    key = tmp_path / "id_ed25519"
    key.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    return key


async def test_an_unreachable_host_is_an_error_naming_it_and_only_its_scenario_is_touched(
    tmp_path: Path, ssh_key: Path
) -> None:
    (tmp_path / "known_hosts").write_text("")
    async with world(tmp_path) as w:
        address = SSHHost("127.0.0.1", closed_port())
        settings = replace(w.settings.ssh, hosts={**w.settings.ssh.hosts, BACKEND: address})
        real = AsyncSSH(ssh=settings, key_path=str(ssh_key), known_hosts=str(tmp_path / "known_hosts"))
        rewire(w, ssh=HostRoutedSSH(real=real, real_hosts={BACKEND}, fake=w.ssh, clock=w.clock))
        try:
            v = await w.verify(ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER, ScenarioId.ROLLBACK)
        finally:
            await real.close()

    rollback = v.scenario(ScenarioId.ROLLBACK)
    assert rollback.conclusion is ScenarioConclusion.ERROR
    assert (rollback.reason or "").startswith(f"SSH to {BACKEND} failed (unreachable): {BACKEND} "), rollback.reason
    assert f"{BACKEND} (127.0.0.1:{address.port}) is unreachable" in (rollback.reason or "")
    # The other scenarios ran as on any day.
    assert v.scenario(ScenarioId.NORMAL_DEPLOY).conclusion is ScenarioConclusion.PASSED
    assert v.scenario(ScenarioId.FAILOVER).conclusion is ScenarioConclusion.PASSED
    assert v.conclusion is VerificationConclusion.ERROR
    # Nothing else was harmed: the only commands on reachable hosts are failover's expansion of the runner glob, the
    # stop and start of the one unit it names, and the check that it is active again; rollback tried no other host,
    # and nothing is left stopped.
    primary = next(r for r in w.settings.environments["staging"].runners if r.name == PRIMARY)
    unit = UNIT.format(PRIMARY)
    assert w.ssh.calls == [
        (PRIMARY, tuple(list_units_argv(primary.service))),
        (PRIMARY, tuple(stop_argv(unit))),
        (PRIMARY, tuple(start_argv(unit))),
        (PRIMARY, tuple(is_active_argv(unit))),
    ]
    assert staging_untouched(w)
    assert w.repo.runners[PRIMARY].status == "online" and w.repo.runners[SECONDARY].status == "online"
    # The stop never reached the backend host, so the report lists no restoration for it (none was needed).
    assert [r for r in v.restorations if r.host == BACKEND] == []
    assert "restoring staging failed" not in (v.scenario(ScenarioId.ROLLBACK).reason or "")


# ----------------------------------------------------------------------------------------------- Prometheus down
@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_prometheus_down_is_a_monitoring_error_before_any_runner_is_stopped(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    url = closed_url()
    async with world(tmp_path) as w:
        prom = HeldPrometheus(PrometheusClient(base_url=url, session=session), w.clock)
        rewire(w, monitoring=lambda _env: (prom, w.am, w.grafana))
        v = await w.verify(ScenarioId.NORMAL_DEPLOY, ScenarioId.MONITORING)

    monitoring = v.scenario(ScenarioId.MONITORING)
    assert monitoring.conclusion is ScenarioConclusion.ERROR  # never failed, never passed: nothing was judged
    assert monitoring.criteria == []
    assert (monitoring.reason or "").startswith(
        f"Preflight: monitoring could not be asked (Prometheus at {url} could not be asked ("
    ), monitoring.reason
    assert v.scenario(ScenarioId.NORMAL_DEPLOY).conclusion is ScenarioConclusion.PASSED
    # Preflight stopped it before any harm: no SSH command at all, no undo needed, the primary stays online.
    assert w.ssh.calls == [] and v.restorations == []
    assert staging_untouched(w) and w.repo.runners[PRIMARY].status == "online"
