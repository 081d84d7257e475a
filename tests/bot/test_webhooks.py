"""Deliveries through the real aiohttp app: signatures, size cap, JSON, dedupe, ignored events, and metrics."""

from __future__ import annotations

import json

from bot.web import MAX_BODY_BYTES, signature_valid
from handlers import build_router, handled_events
from tests.bot.conftest import FIXTURES, Bot, sign
from tests.support.payloads import load_fixture

OWN_EVENTS = {"issue_comment", "workflow_job", "workflow_run"}
IGNORED_EVENTS = {"ping", "installation", "check_suite", "push"}


def test_signature_matches_githubs_documented_test_vector() -> None:
    header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature_valid(secret="It's a Secret to Everybody", body=b"Hello, World!", header=header)
    assert not signature_valid(secret="It's a Secret to Everybody", body=b"Hello, World?", header=header)


async def test_every_fixture_gets_the_right_status(bot: Bot) -> None:
    paths = sorted(FIXTURES.glob("*/*.json"))
    assert len(paths) >= 30
    outcomes: dict[str, tuple[int, str]] = {}
    for path in paths:
        status, body = await bot.deliver(path.parent.name, json.loads(path.read_text()))
        outcomes[f"{path.parent.name}/{path.name}"] = (status, body["outcome"])
    await bot.settle()
    handled = OWN_EVENTS | handled_events(build_router())
    expected = {name: (202, "accepted") if name.split("/")[0] in handled else (200, "ignored") for name in outcomes}
    assert outcomes == expected
    assert {name.split("/")[0] for name, got in outcomes.items() if got[0] == 200} <= IGNORED_EVENTS | {"check_run"}
    # Plain-issue comments in the fixtures are not commands: nothing was asked of GitHub.
    assert bot.command_requests() == []


async def test_refused_bodies_leave_nothing_in_the_store(bot: Bot) -> None:
    payload = json.dumps(load_fixture("workflow_run/completed.payload.json")).encode()
    assert (await bot.deliver("workflow_run", payload, secret=None))[0] == 401
    assert (await bot.deliver("workflow_run", payload, secret="not-the-secret"))[0] == 401
    assert (await bot.deliver("workflow_run", payload, signature="sha256=" + "0" * 64))[0] == 401
    # Truncated in transit: the signature was made over the whole body.
    assert (await bot.deliver("workflow_run", payload[:-20], signature=sign("whsec", payload)))[0] == 401
    too_big = b"{" + b" " * (MAX_BODY_BYTES + 1) + b"}"
    assert (await bot.deliver("workflow_run", too_big))[0] == 413
    assert (await bot.deliver("workflow_run", b"this is not json"))[0] == 400
    assert (await bot.deliver("workflow_run", b"[1, 2, 3]"))[0] == 400

    assert await bot.runtime.store.delivery_count() == 0
    assert bot.engine.runs == []
    metrics = bot.runtime.metrics.render().decode()
    assert 'verify_staging_webhook_deliveries_total{event="unknown",outcome="rejected"} 5.0' in metrics
    assert 'verify_staging_webhook_deliveries_total{event="workflow_run",outcome="rejected"} 2.0' in metrics


async def test_duplicate_delivery_is_processed_once(bot: Bot) -> None:
    payload = load_fixture("workflow_run/in_progress.payload.json")
    payload["installation"] = {"id": 1001}
    first = await bot.deliver("workflow_run", payload, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    again = await bot.deliver("workflow_run", payload, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    await bot.settle()
    assert (first[0], again[0]) == (202, 200)
    assert again[1]["outcome"] == "duplicate"
    assert [run.id for run in bot.engine.runs] == [payload["workflow_run"]["id"]]
    metrics = bot.runtime.metrics.render().decode()
    assert 'verify_staging_webhook_deliveries_total{event="workflow_run",outcome="duplicate"} 1.0' in metrics


async def test_delivery_from_an_unconfigured_repository_is_ignored(bot: Bot) -> None:
    payload = load_fixture("workflow_run/completed.payload.json")
    payload["repository"]["full_name"] = "someone/else"
    status, body = await bot.deliver("workflow_run", payload)
    assert (status, body["outcome"]) == (200, "ignored")
    assert await bot.runtime.store.delivery_count() == 0


async def test_healthz_and_metrics_answer(bot: Bot) -> None:
    async with bot.session.get(bot.runtime.url + "/healthz") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"
    await bot.deliver("ping", load_fixture("ping/payload.json"))
    async with bot.session.get(bot.runtime.url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    assert 'verify_staging_webhook_deliveries_total{event="ping",outcome="ignored"} 1.0' in text
