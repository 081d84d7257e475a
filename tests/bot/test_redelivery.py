"""The redelivery sweep: which failed webhook deliveries it asks GitHub to redeliver (the pure decision), and the
sweep itself against a local API stand-in: the App's JWT, cursor pages, `POST .../attempts`, the store, metrics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization

from bot.github.client import GitHubAppClient, RetryPolicy
from bot.github.hook_deliveries import AppHookDeliveries, HookDelivery
from bot.metrics import Metrics
from bot.redelivery import MAX_ATTEMPTS, WINDOW, RedeliveryMetrics, RedeliverySweep, plan_redeliveries
from bot.store import Store
from tests.bot.github_api import Captured, FakeGitHubAPI, Sleeps
from tests.fakes.clock import EPOCH, FakeClock

NOW = EPOCH


def attempt(
    delivery_id: int, guid: str, status_code: int, *, redelivery: bool = False, age: timedelta = timedelta(minutes=5)
) -> HookDelivery:
    return HookDelivery.from_api(
        {
            "id": delivery_id,
            "guid": guid,
            "delivered_at": (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "redelivery": redelivery,
            "duration": 0.1,
            "status": "OK" if 200 <= status_code < 300 else "failed to connect to host",
            "status_code": status_code,
            "event": "workflow_job",
            "action": "completed",
            "installation_id": 1001,
            "repository_id": 7,
        }
    )


def plan(listed: list[HookDelivery], **kwargs: Any) -> list[int]:
    found = plan_redeliveries(listed, **{"accepted": set(), "seen_up_to": None, "since": NOW - WINDOW, **kwargs})
    return [d.id for d in found.redeliver]


# ------------------------------------------------------------------------------------------- the decision
def test_a_failed_delivery_the_bot_never_accepted_is_redelivered_oldest_first() -> None:
    listed = [attempt(13, "c", 503), attempt(12, "b", 200), attempt(11, "a", 0)]
    assert plan(listed) == [11, 13]


def test_a_failed_delivery_the_bot_accepted_is_not_redelivered() -> None:
    listed = [attempt(12, "b", 0), attempt(11, "a", 0)]
    decided = plan_redeliveries(listed, accepted={"a"}, seen_up_to=None, since=NOW - WINDOW)
    assert [d.guid for d in decided.redeliver] == ["b"]
    assert decided.already_accepted == 1


def test_a_delivery_a_later_attempt_delivered_is_skipped_and_a_failed_retry_is_redelivered_once() -> None:
    listed = [
        attempt(14, "b", 502, redelivery=True),
        attempt(13, "a", 202, redelivery=True),
        attempt(12, "b", 0),
        attempt(11, "a", 0),
    ]
    decided = plan_redeliveries(listed, accepted=set(), seen_up_to=None, since=NOW - WINDOW)
    assert [d.id for d in decided.redeliver] == [14]  # one request per GUID: its newest attempt
    assert decided.already_succeeded == 1


def test_at_most_limit_a_sweep_and_the_next_sweep_reads_back_as_far_again() -> None:
    listed = [attempt(100 - n, f"g{n}", 0) for n in range(5)]
    decided = plan_redeliveries(listed, accepted=set(), seen_up_to=50, since=NOW - WINDOW, limit=2)
    assert [d.id for d in decided.redeliver] == [96, 97]
    assert decided.left_for_next_sweep == 3
    assert decided.watermark == 50  # not moved: the three left over must be found again
    done = plan_redeliveries(listed, accepted=set(), seen_up_to=50, since=NOW - WINDOW, limit=5)
    assert done.left_for_next_sweep == 0 and done.watermark == 100


def test_deliveries_an_earlier_sweep_saw_or_older_than_githubs_window_are_left_alone() -> None:
    listed = [attempt(21, "new", 0), attempt(20, "seen", 0), attempt(19, "older", 0, age=WINDOW + timedelta(hours=1))]
    assert plan(listed, seen_up_to=20) == [21]
    assert plan(listed) == [20, 21]


def test_a_guid_redelivered_max_attempts_times_is_given_up() -> None:
    listed = [attempt(11, "a", 401)]
    assert plan(listed, tried={"a": MAX_ATTEMPTS - 1}) == [11]
    decided = plan_redeliveries(listed, accepted=set(), seen_up_to=None, since=NOW - WINDOW, tried={"a": MAX_ATTEMPTS})
    assert decided.redeliver == () and decided.given_up == 1


def test_a_delivery_given_back_unprocessed_at_a_shutdown_is_redelivered_though_github_saw_it_acknowledged() -> None:
    listed = [attempt(12, "b", 202), attempt(11, "a", 202)]
    decided = plan_redeliveries(listed, accepted=set(), released={"a"}, seen_up_to=None, since=NOW - WINDOW)
    assert [d.id for d in decided.redeliver] == [11] and decided.released == 1
    assert plan(listed, accepted={"a"}, released={"a"}) == []  # accepted again since: done


# ------------------------------------------------------------------------------------------- the sweep
@dataclass
class DeliveryLog:
    """GitHub's delivery log on the API stand-in: newest first, `per_page`, the next `cursor` in `Link`."""

    api: FakeGitHubAPI
    items: list[dict[str, Any]] = field(default_factory=list)
    redelivery_status: int = 202

    def __post_init__(self) -> None:
        self.api.on("GET", r"/app/hook/deliveries", self._list)
        self.api.on("POST", r"/app/hook/deliveries/(\d+)/attempts", self._redeliver)

    def add(self, guid: str, status_code: int, **kwargs: Any) -> int:
        delivery_id = 1000 + len(self.items)
        item = {"id": delivery_id, "guid": guid, "status_code": status_code, "redelivery": False, "event": "ping"}
        item["delivered_at"] = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.items.insert(0, {**item, **kwargs})
        return delivery_id

    def _list(self, captured: Captured, _: re.Match[str]) -> tuple[int, Any, dict[str, str]]:
        per_page = int(captured.query.get("per_page", "30"))
        after = int(captured.query.get("cursor", "v1_99999999")[3:])
        rest = [i for i in self.items if i["id"] < after]
        page = rest[:per_page]
        headers = {}
        if len(rest) > per_page:
            headers["Link"] = (
                f'<{self.api.url}/app/hook/deliveries?per_page={per_page}&cursor=v1_{page[-1]["id"]}>; rel="next"'
            )
        return 200, page, headers

    def _redeliver(self, captured: Captured, match: re.Match[str]) -> tuple[int, Any, dict[str, str]]:
        return self.redelivery_status, ({} if self.redelivery_status == 202 else {"message": "Validation Failed"}), {}


def sweeper(
    session: aiohttp.ClientSession, api: FakeGitHubAPI, key: str, store: Store, metrics: Metrics
) -> RedeliverySweep:
    client = GitHubAppClient(
        session, app_id="4242", private_key=key, api_url=api.url, policy=RetryPolicy(attempts=2), sleeper=Sleeps()
    )
    return RedeliverySweep(
        hooks=AppHookDeliveries(client),
        store=store,
        metrics=RedeliveryMetrics(metrics.registry),
        clock=FakeClock(start=NOW),
        interval=300,
    )


async def test_the_sweep_reads_every_page_with_the_apps_jwt_and_redelivers_what_the_bot_missed(
    store_location: str, session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    log = DeliveryLog(github_api)
    missed = [log.add(f"missed-{n}", 0) for n in range(120)]  # the App was down: more than one page
    log.add("accepted-but-slow", 0)
    log.add("fine", 200)
    store = await Store.open(store_location)  # on SQLite and on PostgreSQL
    try:
        assert await store.record_delivery(
            delivery_id="accepted-but-slow", event="ping", action=None, installation_id=1
        )
        metrics = Metrics()
        sweep = sweeper(session, github_api, private_key_pem, store, metrics)

        first = await sweep.sweep()

        listed = github_api.sent("GET", r"/app/hook/deliveries")
        assert [c.query.get("cursor") for c in listed] == [None, "v1_1022"]
        public = serialization.load_pem_private_key(private_key_pem.encode(), None).public_key()
        for captured in listed:
            scheme, token = captured.headers["authorization"].split(" ", 1)
            assert scheme.lower() == "bearer"
            assert jwt.decode(token, public, algorithms=["RS256"])["iss"] == "4242"  # type: ignore[arg-type]
        posted = [int(c.path.split("/")[-2]) for c in github_api.sent("POST", r"/app/hook/deliveries/\d+/attempts")]
        assert posted == missed[:100]  # oldest first, at most 100 a sweep
        assert first.already_accepted == 1 and first.left_for_next_sweep == 20
        text = metrics.render().decode()
        assert 'verify_staging_redeliveries_total{outcome="requested"} 100.0' in text
        assert 'verify_staging_redelivery_sweeps_total{outcome="ok"} 1.0' in text

        # GitHub lists each redelivery as a new attempt with the same GUID; the first 100 now succeeded.
        for n in range(100):
            log.add(f"missed-{n}", 202, redelivery=True)
        github_api.requests.clear()
        await sweep.sweep()
        posted = [int(c.path.split("/")[-2]) for c in github_api.sent("POST", r"/app/hook/deliveries/\d+/attempts")]
        assert posted == missed[100:]

        github_api.requests.clear()
        third = await sweep.sweep()
        assert len(github_api.sent("GET", r"/app/hook/deliveries")) == 1  # back to the newest one seen, no further
        assert third.redeliver == () and not github_api.sent("POST", r".*/attempts")
    finally:
        await store.close()


async def test_a_redelivery_github_refuses_is_counted_and_not_asked_for_again(
    tmp_path: Path, session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    log = DeliveryLog(github_api, redelivery_status=422)
    log.add("too-old-to-redeliver", 0)
    store = await Store.open(str(tmp_path / "bot.db"))
    try:
        metrics = Metrics()
        sweep = sweeper(session, github_api, private_key_pem, store, metrics)
        await sweep.sweep()
        sweep.seen_up_to = None  # as after a restart of the sweep's reading, not of the process
        again = await sweep.sweep()
        assert len(github_api.sent("POST", r".*/attempts")) == 1
        assert again.given_up == 1
        assert 'verify_staging_redeliveries_total{outcome="refused"} 1.0' in metrics.render().decode()
    finally:
        await store.close()


async def test_a_delivery_the_ingress_gave_back_at_shutdown_is_redelivered_once_by_the_next_sweep(
    store_location: str, session: aiohttp.ClientSession, github_api: FakeGitHubAPI, private_key_pem: str
) -> None:
    log = DeliveryLog(github_api)
    given_back = log.add("queued-at-shutdown", 202)
    log.add("processed", 202)
    store = await Store.open(store_location)  # on SQLite and on PostgreSQL
    try:
        for guid in ("queued-at-shutdown", "processed"):
            assert await store.record_delivery(delivery_id=guid, event="ping", action=None, installation_id=1)
        await store.forget_delivery("queued-at-shutdown")  # what the ingress does with its backlog on shutdown
        sweep = sweeper(session, github_api, private_key_pem, store, Metrics())

        await sweep.sweep()

        posted = [int(c.path.split("/")[-2]) for c in github_api.sent("POST", r"/app/hook/deliveries/\d+/attempts")]
        assert posted == [given_back]
        # The redelivery is accepted (recorded again): a later sweep, even of a restarted bot, leaves it alone.
        assert await store.record_delivery(
            delivery_id="queued-at-shutdown", event="ping", action=None, installation_id=1
        )
        github_api.requests.clear()
        sweep.seen_up_to = None
        await sweep.sweep()
        assert not github_api.sent("POST", r".*/attempts")
    finally:
        await store.close()
