"""`serve` on PostgreSQL (DATABASE_URL): two runtimes sharing one database process a delivery once between them, and
the replica that did not receive it hears of it through the database (issue 16 §2's relay)."""

from __future__ import annotations

import json
from pathlib import Path

from bot.settings import Settings
from tests.bot.conftest import Bot, running_bot
from tests.bot.github_api import FakeGitHubAPI
from tests.paths import WEBHOOK_PAYLOADS
from tests.support.wait import wait_until


async def test_a_delivery_reaching_two_replicas_on_postgresql_is_processed_once(
    postgres_settings: Settings, github_api: FakeGitHubAPI
) -> None:
    payload = json.loads((WEBHOOK_PAYLOADS / "workflow_run" / "in_progress.payload.json").read_text())
    payload["installation"] = {"id": 1001}
    guid = "9a1e6b40-cf1d-11f0-8e5b-2c6a0f1d0b11"
    async with running_bot(postgres_settings) as (rt_a, engine_a, session_a):
        async with running_bot(postgres_settings) as (rt_b, engine_b, session_b):
            a, b = Bot(rt_a, engine_a, session_a, github_api), Bot(rt_b, engine_b, session_b, github_api)
            first = await a.deliver("workflow_run", payload, delivery_id=guid)
            again = await b.deliver("workflow_run", payload, delivery_id=guid)
            await a.settle()
            await b.settle()
            assert (first[0], again[0], again[1]["outcome"]) == (202, 200, "duplicate")
            run_id = payload["workflow_run"]["id"]
            assert [run.id for run in engine_a.runs] == [run_id]
            # The other replica's engine sees the run once, relayed through PostgreSQL, never from the duplicate.
            await wait_until(lambda: bool(engine_b.runs), timeout=10, what="the run relayed to the other replica")
            assert [run.id for run in engine_b.runs] == [run_id]
            assert [run.id for run in engine_a.runs] == [run_id]
            async with session_b.get(rt_b.url + "/healthz") as health:
                assert health.status == 200
    assert not Path(postgres_settings.database).exists()  # the SQLite file was never created
