"""A flood at the front door cannot starve the work: slow bodies are cut off, concurrent requests are capped,
commands and job tracking have their own bounded queues, and a delivery refused for lack of room is not recorded.

The ingress here is the real one behind the real aiohttp app; only `process` is a stand-in that can hold the command
worker, so the tests assert on what was processed and in which queue, not on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from gidgethub import sansio

from bot.envelope import Envelope
from bot.metrics import Metrics
from bot.settings import ServerSettings, Settings
from bot.store import Store
from bot.web import WebhookIngress, build_web_app
from tests.bot.conftest import WEBHOOK_SECRET, running_bot, sign
from tests.bot.github_api import REPOSITORY
from tests.support.payloads import load_fixture
from tests.support.wait import wait_until


@dataclass
class Front:
    ingress: WebhookIngress
    store: Store
    server: TestServer
    session: aiohttp.ClientSession
    #: Issue comments wait for this before they count as processed: the command worker is held.
    release_commands: asyncio.Event = field(default_factory=asyncio.Event)
    started: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)

    @property
    def address(self) -> tuple[str, int]:
        assert self.server.host is not None and self.server.port is not None
        return self.server.host, self.server.port

    async def deliver(self, event: str, *, delivery_id: str | None = None) -> int:
        payload = load_fixture(
            "issue_comment/created.with-installation.payload.json"
            if event == "issue_comment"
            else "workflow_job/queued.payload.json"
        )
        body = json.dumps(payload).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(WEBHOOK_SECRET, body),
        }
        async with self.session.post(self.server.make_url("/webhooks"), data=body, headers=headers) as response:
            await response.read()
            return response.status


@asynccontextmanager
async def front(tmp_path: Path, **limits: Any) -> AsyncIterator[Front]:
    store = await Store.open(str(tmp_path / "bot.db"))
    metrics = Metrics()
    holder: list[Front] = []

    async def process(event: sansio.Event, envelope: Envelope) -> None:
        f = holder[0]
        name = f"{event.event}:{event.delivery_id}"
        f.started.append(name)
        if event.event == "issue_comment":
            await f.release_commands.wait()
        f.processed.append(name)

    ingress = WebhookIngress(
        secret=WEBHOOK_SECRET,
        store=store,
        metrics=metrics,
        accepts=lambda envelope: True,
        process=process,
        limits=ServerSettings(**limits),
    )
    ingress.start()
    server = TestServer(build_web_app(ingress, metrics), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        f = Front(ingress, store, server, session)
        holder.append(f)
        try:
            yield f
        finally:
            f.release_commands.set()
            await ingress.drain(5)
            await ingress.close()
            await server.close()
            await store.close()


@asynccontextmanager
async def slow_upload(host: str, port: int) -> AsyncIterator[asyncio.StreamReader]:
    """A sender that announces a 10 kB body, then dribbles one byte every 0.1 s (at most 300 bytes)."""
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"POST /webhooks HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: 10000\r\nX-GitHub-Event: workflow_job\r\nX-GitHub-Delivery: {uuid.uuid4()}\r\n"
        "X-Hub-Signature-256: sha256=00\r\n\r\n{"
    )
    writer.write(head.encode())
    await writer.drain()

    async def dribble() -> None:
        with contextlib.suppress(ConnectionError):
            for _ in range(300):
                await asyncio.sleep(0.1)  # the slowness is the behaviour under test
                writer.write(b" ")
                await writer.drain()

    task = asyncio.create_task(dribble())
    try:
        yield reader
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_slow_body_is_answered_408_and_closed_within_the_deadline_while_others_get_through(
    tmp_path: Path,
) -> None:
    async with front(tmp_path, body_timeout=1.0) as f:
        loop = asyncio.get_running_loop()
        async with slow_upload(*f.address) as reader:
            began = loop.time()
            assert await f.deliver("workflow_job") == 202  # while the slow one is still trickling in
            status_line = await asyncio.wait_for(reader.readline(), timeout=5)
            answered = loop.time() - began
            assert status_line.startswith(b"HTTP/1.1 408"), status_line
            assert answered < 1.0 + 1.0, answered
            # The connection is closed after the answer: the rest of the trickle is never read.
            assert (await asyncio.wait_for(reader.read(), timeout=5)).endswith(b"}")  # JSON body, then EOF
        assert await f.store.delivery_count() == 1


async def test_requests_beyond_the_cap_get_503_before_their_body_is_read(tmp_path: Path) -> None:
    async with front(tmp_path, body_timeout=2.0, max_requests=2) as f:
        async with slow_upload(*f.address), slow_upload(*f.address):
            await wait_until(lambda: f.ingress.receiving == 2, what="both slow uploads to be received")
            assert await f.deliver("workflow_job") == 503
            assert await f.store.delivery_count() == 0
        await wait_until(lambda: f.ingress.receiving == 0, what="the slow uploads to end")
        assert await f.deliver("workflow_job") == 202


async def test_a_flood_of_comments_does_not_delay_job_tracking(tmp_path: Path) -> None:
    async with front(tmp_path, command_workers=2, event_workers=1) as f:
        comments = [str(uuid.uuid4()) for _ in range(30)]
        for delivery_id in comments:
            assert await f.deliver("issue_comment", delivery_id=delivery_id) == 202
        await wait_until(lambda: len(f.started) == 2, what="both command workers to be busy")
        assert await f.deliver("workflow_job", delivery_id="job-1") == 202
        await wait_until(lambda: "workflow_job:job-1" in f.processed, what="the workflow_job to be processed")
        assert not any(p.startswith("issue_comment:") for p in f.processed)  # every comment is still held
        f.release_commands.set()
        assert await f.ingress.drain(5)
        assert sorted(f.processed) == sorted(["workflow_job:job-1", *(f"issue_comment:{c}" for c in comments)])


async def test_full_queue_answers_503_and_does_not_record_the_delivery(tmp_path: Path) -> None:
    async with front(tmp_path, command_queue=2, command_workers=1) as f:
        assert await f.deliver("issue_comment", delivery_id="c-1") == 202
        await wait_until(lambda: f.started == ["issue_comment:c-1"], what="the command worker to take c-1")
        assert await f.deliver("issue_comment", delivery_id="c-2") == 202
        assert await f.deliver("issue_comment", delivery_id="c-3") == 202
        assert await f.deliver("issue_comment", delivery_id="c-4") == 503  # c-2 and c-3 fill the queue
        assert await f.deliver("workflow_job", delivery_id="job-1") == 202  # job tracking has its own queue
        assert await f.store.delivery_count() == 4  # c-1, c-2, c-3, job-1: never c-4
        f.release_commands.set()
        assert await f.ingress.drain(5)
        # GitHub's redelivery keeps the id: it is processed now, not taken for a duplicate.
        assert await f.deliver("issue_comment", delivery_id="c-4") == 202
        assert await f.ingress.drain(5)
        assert "issue_comment:c-4" in f.processed


async def test_deliveries_still_queued_at_shutdown_are_forgotten_so_a_redelivery_is_processed(tmp_path: Path) -> None:
    async with front(tmp_path, command_workers=1) as f:
        assert await f.deliver("issue_comment", delivery_id="c-1") == 202
        await wait_until(lambda: f.started == ["issue_comment:c-1"], what="the command worker to take c-1")
        assert await f.deliver("issue_comment", delivery_id="c-2") == 202
        await f.ingress.close()
        # c-1 was being processed (it may have acted): it stays recorded; c-2 never started: it is forgotten.
        assert await f.store.record_delivery(delivery_id="c-2", event="issue_comment", action=None, installation_id=1)
        assert not await f.store.record_delivery(
            delivery_id="c-1", event="issue_comment", action=None, installation_id=1
        )


async def test_the_bot_prunes_old_deliveries_at_start_up(tmp_path: Path, settings: Settings) -> None:
    store = await Store.open(settings.database)
    old = datetime.now(UTC) - timedelta(days=settings.server.retention_days + 1)
    await store.record_delivery(
        delivery_id="old", event="workflow_job", action=None, installation_id=1, received_at=old
    )
    await store.record_delivery(delivery_id="recent", event="workflow_job", action=None, installation_id=1)
    await store.close()
    async with running_bot(settings) as (runtime, _, _session):
        for _ in range(500):  # bounded: the prune runs as soon as the bot is up
            if await runtime.store.delivery_count() == 1:
                break
            await asyncio.sleep(0.01)
        assert await runtime.store.delivery_count() == 1
        assert REPOSITORY in settings.github.repositories
