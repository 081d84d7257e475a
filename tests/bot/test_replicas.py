"""Two `serve` replicas on one database (issue 16 §2), each the real runtime on its own port: a delivery sent to
both is processed once, a workflow event that reached one replica reaches the other's engine within a second, the
singleton work runs on one of them, and /healthz names each replica."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from bot.model import Verification
from bot.relay import POLL_SECONDS
from bot.settings import Settings
from bot.texts import commands as texts
from tests.bot.conftest import Bot, running_bot
from tests.bot.github_api import REPOSITORY, FakeGitHubAPI
from tests.support.payloads import load_fixture, pr_comment
from tests.support.wait import wait_until


@pytest.fixture
async def replicas(settings: Settings, github_api: FakeGitHubAPI) -> AsyncIterator[tuple[Bot, Bot]]:
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_bot(settings))
        second = await stack.enter_async_context(running_bot(settings))
        yield Bot(*first, github_api), Bot(*second, github_api)


async def test_a_command_delivered_to_both_replicas_at_once_starts_one_verification(replicas: tuple[Bot, Bot]) -> None:
    a, b = replicas
    payload = pr_comment("/verify-staging")
    answers = await asyncio.gather(
        a.deliver("issue_comment", payload, delivery_id="guid-1"),
        b.deliver("issue_comment", payload, delivery_id="guid-1"),
    )
    await a.settle()
    await b.settle()
    assert sorted(status for status, _ in answers) == [200, 202]
    assert sorted(body["outcome"] for _, body in answers) == ["accepted", "duplicate"]
    assert len(a.engine.started) + len(b.engine.started) == 1


async def test_a_workflow_job_delivered_to_one_replica_reaches_the_others_engine_within_a_second(
    replicas: tuple[Bot, Bot],
) -> None:
    a, b = replicas
    job = load_fixture("workflow_job/in_progress.payload.json")
    job["installation"] = {"id": 1001}
    sent = time.monotonic()
    status, _ = await b.deliver("workflow_job", job)
    assert status == 202
    # Polled every POLL_SECONDS; the bound leaves room for a loaded machine (measured: 0.4-1.1 s on 2 busy cores,
    # from the POST to the other replica's engine). Without the relay, only the REST reconciliation would find it.
    await wait_until(lambda: len(a.engine.jobs) == 1, timeout=POLL_SECONDS + 2.5, what="the job relayed")
    latency = time.monotonic() - sent
    await b.settle()
    assert [j.id for j in a.engine.jobs] == [j.id for j in b.engine.jobs] == [job["workflow_job"]["id"]]
    print(f"relay latency {latency * 1000:.0f} ms")


async def test_singleton_work_runs_on_exactly_one_replica(replicas: tuple[Bot, Bot]) -> None:
    a, b = replicas
    for name in ("runner-poller", "redelivery-sweep"):
        await wait_until(
            lambda n=name: a.runtime.singletons[n].active or b.runtime.singletons[n].active,  # type: ignore[misc]
            timeout=10,
            what=f"{name} started on a replica",
        )
        assert [a.runtime.singletons[name].active, b.runtime.singletons[name].active].count(True) == 1
    shown = []
    for bot in replicas:
        async with bot.session.get(bot.runtime.url + "/healthz") as response:
            shown.append(set((await response.json())["singletons"]))
    assert shown[0] | shown[1] == {"runner-poller", "redelivery-sweep"} and not shown[0] & shown[1]


async def test_healthz_names_each_replica_and_the_verifications_it_owns(replicas: tuple[Bot, Bot]) -> None:
    bodies = []
    for bot in replicas:
        async with bot.session.get(bot.runtime.url + "/healthz") as response:
            assert response.status == 200
            bodies.append(await response.json())
    assert [body["status"] for body in bodies] == ["ok", "ok"]
    assert bodies[0]["replica"] != bodies[1]["replica"]
    assert [body["owned_verifications"] for body in bodies] == [[], []]
    assert all(body["pending_deliveries"] == 0 for body in bodies)


async def test_healthz_is_not_ready_while_the_database_does_not_answer(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> bool:
        raise OSError("could not connect to the database")

    monkeypatch.setattr(bot.runtime.store, "ping", unreachable)
    async with bot.session.get(bot.runtime.url + "/healthz") as response:
        assert response.status == 503
        body = await response.json()
    assert (body["status"], body["reason"]) == ("unavailable", "the database does not answer")
    monkeypatch.undo()
    async with bot.session.get(bot.runtime.url + "/healthz") as response:
        assert response.status == 200


async def test_an_abort_that_reaches_the_other_replica_stops_the_verification_where_it_runs(
    replicas: tuple[Bot, Bot],
) -> None:
    owner, other = replicas
    assert owner.runtime.leases is not None and other.runtime.relay is not None
    await owner.runtime.store.save_verification(
        Verification(
            verification_id="vs-running", installation_id=1001, repository=REPOSITORY, pull_request=42,
            head_sha="b" * 40, ref="main", environment="staging", requested_by="carol-admin", scenarios=[],
        )
    )  # fmt: skip
    # What the engine's start takes on the owner (scenarios/ownership.py); the fake engine takes no leases.
    assert (
        await owner.runtime.leases.acquire_all(
            ["environment:staging", "verification:vs-running"], note="vs-running staging"
        )
        is None
    )
    owner.engine.busy["staging"] = "vs-running"
    relay = other.runtime.relay
    await wait_until(lambda: relay.running_elsewhere.get("staging") == "vs-running", timeout=10, what="the lease seen")
    status, _ = await other.deliver("issue_comment", pr_comment("/verify-staging abort"))
    assert status == 202
    await other.settle()
    await wait_until(lambda: owner.engine.aborted != [], timeout=10, what="the abort relayed to the owner")
    assert owner.engine.aborted == [("vs-running", "alice-admin")] and other.engine.aborted == []
    posted = [str(r.body["body"]) for r in other.github_api.sent("POST", r"/repos/.+/issues/42/comments")]
    assert posted[-1] == texts.ABORT_REQUESTED.format(user="alice-admin", verification_id="vs-running")
