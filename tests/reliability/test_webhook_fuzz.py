"""Hostile and malformed deliveries through the real aiohttp app: never a 500, the right status, nothing stored for
a refused body, and a signed-but-malformed payload is logged and dropped without an unhandled exception."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from bot.web import MAX_BODY_BYTES
from tests.bot.conftest import FIXTURES, WEBHOOK_SECRET, Bot, sign
from tests.bot.github_api import REPOSITORY

HANDLED = ("issue_comment", "workflow_run", "workflow_job", "check_run", "check_suite")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def fixtures_of(event: str) -> list[dict[str, Any]]:
    payloads = []
    for path in sorted((FIXTURES / event).glob("*.json")):
        payload = json.loads(path.read_text())
        # Point it at the configured repository and installation, so the handlers get past the filter.
        payload["repository"]["full_name"] = REPOSITORY
        payload["installation"] = {"id": 1001}
        payloads.append(payload)
    return payloads


SEEDS = {event: fixtures_of(event) for event in HANDLED}


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_in(child, (*prefix, index))
    return found


def mutate(payload: dict[str, Any], path: tuple[Any, ...], replacement: Any, delete: bool) -> None:
    parent: Any = payload
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A real captured payload of a handled event with a few fields replaced by random JSON or removed."""
    event = draw(st.sampled_from(HANDLED))
    payload = copy.deepcopy(draw(st.sampled_from(SEEDS[event])))
    for _ in range(draw(st.integers(1, 4))):
        paths = paths_in(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        mutate(payload, path, draw(json_values), draw(st.booleans()))
    return event, payload


@st.composite
def random_shapes(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A JSON object of random shape carrying some of the keys the handlers look for."""
    event = draw(st.sampled_from(HANDLED))
    keys = st.sampled_from(["action", "installation", "repository", "comment", "issue", "sender", event])
    payload: dict[str, Any] = draw(st.dictionaries(keys | st.text(max_size=6), json_values, max_size=6))
    if draw(st.booleans()):
        payload["repository"] = {"full_name": REPOSITORY}
    return event, payload


async def post(
    bot: Bot, body: bytes, *, event: str = "workflow_run", content_type: str = "application/json", signed: bool = True
) -> int:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": str(uuid.uuid4()), "Content-Type": content_type}
    if signed:
        headers["X-Hub-Signature-256"] = sign(WEBHOOK_SECRET, body)
    async with bot.session.post(bot.runtime.url + "/webhooks", data=body, headers=headers) as response:
        await response.read()
        return response.status


def expected_status(payload: dict[str, Any]) -> int:
    """400 when a field every delivery shares has another type than GitHub's; else 200 for another repository's
    delivery (ignored) and 202 for ours."""
    action, installation, repository = payload.get("action"), payload.get("installation"), payload.get("repository")
    if action is not None and not isinstance(action, str):
        return 400
    if installation is not None and not (
        isinstance(installation, dict) and type(installation.get("id")) is int  # bool is not an id
    ):
        return 400
    if repository is not None and not (isinstance(repository, dict) and isinstance(repository.get("full_name"), str)):
        return 400
    return 202 if repository is None or repository["full_name"].lower() == REPOSITORY else 200


def failures(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry.get("log_level") in ("error", "critical", "exception")]


@FUZZ
@given(body=st.binary(max_size=300), forged=st.text(max_size=80))
async def test_forged_and_unsigned_bodies_are_refused_and_nothing_is_stored(bot: Bot, body: bytes, forged: str) -> None:
    before = await bot.runtime.store.delivery_count()
    assert await post(bot, body, signed=False) == 401
    headers = {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + forged.encode("ascii", "replace").hex()[:64],
    }
    async with bot.session.post(bot.runtime.url + "/webhooks", data=body, headers=headers) as response:
        assert response.status == 401
    # Signed with another secret.
    other = {**headers, "X-Hub-Signature-256": sign("not-" + WEBHOOK_SECRET, body)}
    async with bot.session.post(bot.runtime.url + "/webhooks", data=body, headers=other) as response:
        assert response.status == 401
    assert await bot.runtime.store.delivery_count() == before
    assert bot.engine.started == [] and bot.engine.runs == [] and bot.engine.jobs == []


@FUZZ
@given(seed=mutated_payloads(), cut=st.integers(1, 200))
async def test_truncated_bodies_are_refused(bot: Bot, seed: tuple[str, dict[str, Any]], cut: int) -> None:
    event, payload = seed
    whole = json.dumps(payload).encode()
    truncated = whole[: max(0, len(whole) - cut)]
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(WEBHOOK_SECRET, whole),  # signed over the whole body, as GitHub sent it
    }
    async with bot.session.post(bot.runtime.url + "/webhooks", data=truncated, headers=headers) as response:
        assert response.status == 401
    assert await bot.runtime.store.delivery_count() == 0


@FUZZ
@given(body=st.binary(max_size=200).filter(lambda b: not b.strip().startswith(b"{")))
async def test_signed_bodies_that_are_not_a_json_object_get_400(bot: Bot, body: bytes) -> None:
    assert await post(bot, body) == 400
    invalid_utf8 = b'{"action": "created", "x": "\xff\xfe' + body + b'"}'
    assert await post(bot, invalid_utf8, event="issue_comment") == 400
    assert await bot.runtime.store.delivery_count() == 0


async def test_oversized_and_wrong_content_type_bodies(bot: Bot) -> None:
    too_big = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert await post(bot, too_big) == 413
    assert await bot.runtime.store.delivery_count() == 0
    # GitHub can be set to send application/x-www-form-urlencoded (`payload=...`); the App is configured for JSON
    # and refuses the form encoding as malformed rather than guessing.
    form = b"payload=" + quote(json.dumps({"action": "completed"})).encode()
    assert await post(bot, form, content_type="application/x-www-form-urlencoded") == 400
    assert await post(bot, b"<xml/>", content_type="text/xml") == 400
    assert await bot.runtime.store.delivery_count() == 0


@FUZZ
@given(seed=mutated_payloads() | random_shapes())
async def test_signed_payloads_of_any_shape_never_break_the_worker(bot: Bot, seed: tuple[str, dict[str, Any]]) -> None:
    event, payload = seed
    with capture_logs() as logs:
        status = await post(bot, json.dumps(payload).encode(), event=event)
        await bot.settle()
    assert status == expected_status(payload)
    assert failures(logs) == [], failures(logs)


async def test_the_worker_still_processes_real_deliveries_after_malformed_ones(bot: Bot) -> None:
    for event, payloads in SEEDS.items():
        for payload in payloads:
            broken = copy.deepcopy(payload)
            for key in ("workflow_run", "workflow_job", "comment", "issue", "check_run", "check_suite"):
                if key in broken:
                    broken[key] = "not an object"
            assert await post(bot, json.dumps(broken).encode(), event=event) == 202
    await bot.settle()
    good = json.loads((FIXTURES / "workflow_run" / "completed.payload.json").read_text())
    good["repository"]["full_name"] = REPOSITORY
    good["installation"] = {"id": 1001}
    assert await post(bot, json.dumps(good).encode()) == 202
    await bot.settle()
    assert [run.id for run in bot.engine.runs] == [good["workflow_run"]["id"]]


def test_the_seeds_cover_every_handled_event() -> None:
    assert all(SEEDS[event] for event in HANDLED)
    assert Path(FIXTURES).is_dir()
