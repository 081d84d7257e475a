"""Webhook ingest: deliveries per second and acknowledgement latency of the bot's real `POST /webhooks`, side by
side with a bare aiohttp endpoint that only reads the body and answers 202.

Both servers run as their own processes (`verify-staging serve` with the example settings and a fresh SQLite
database; `python -m benchmarks._bare`), one after the other, and this process is the load generator: signed,
realistic `workflow_job` deliveries (GitHub's own payload, ~10 KB, the configured repository, unique delivery ids)
over keep-alive connections on loopback. Two loads per server:

- paced: `--rate` deliveries/s for `--count` deliveries; latency is from the moment a delivery was due to its
  answer, so a server that falls behind is charged for the queueing it causes (no coordinated omission);
- max: `--count` deliveries as fast as `--concurrency` connections allow.

The ratio is bot ÷ bare deliveries/s at max throughput. Goals: ratio >= 0.7 and bot p99 < 25 ms at 200/s.

    .venv/bin/python -m benchmarks.ingest [--count 2000] [--rate 200] [--concurrency 16] [--json]
                                          [--database-url postgresql://...]  (PostgreSQL's store: scripts/postgres.sh)
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._bot import REPOSITORY, BotProcess, cpu_seconds
from benchmarks.report import Row, percentile, print_table
from tests.paths import WEBHOOK_PAYLOADS
from tests.support.ports import reserve_port

FIXTURE = WEBHOOK_PAYLOADS / "workflow_job" / "completed.success.with-organization.payload.json"
GOAL_RATIO = 0.7
GOAL_P99_MS = 25.0


@dataclass
class Load:
    """One load against one server."""

    server: str
    mode: str
    deliveries: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    server_cpu_ms: float = 0.0  # server CPU time per delivery
    client_cpu_ms: float = 0.0  # load generator CPU time per delivery


def workflow_job_payload(index: int) -> dict[str, Any]:
    """GitHub's `workflow_job` completed payload, moved to the configured repository; job and run ids vary."""
    data: dict[str, Any] = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else _minimal_payload()
    data = copy.deepcopy(data)
    owner, name = REPOSITORY.split("/")
    data["repository"]["full_name"] = REPOSITORY
    data["repository"]["name"] = name
    data["repository"]["owner"]["login"] = owner
    data["installation"] = {"id": 1001, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMTAwMQ=="}
    job = data["workflow_job"]
    job["id"] = 9_000_000 + index
    job["run_id"] = 5_000_000 + index // 4  # a run has a few jobs, as the deployment workflow does
    job["name"] = ("select-runner", "deploy", "health-check", "rollback")[index % 4]
    return data


def _minimal_payload() -> dict[str, Any]:
    return {
        "action": "completed",
        "workflow_job": {
            "id": 1,
            "run_id": 1,
            "run_attempt": 1,
            "head_sha": "0" * 40,
            "status": "completed",
            "conclusion": "success",
            "created_at": "2024-01-01T00:00:00Z",
            "started_at": "2024-01-01T00:00:05Z",
            "completed_at": "2024-01-01T00:01:00Z",
            "name": "deploy",
            "steps": [],
            "labels": ["self-hosted"],
            "runner_name": "production-runner-01",
            "workflow_name": "Deploy",
        },
        "repository": {"full_name": REPOSITORY, "name": "paws360", "owner": {"login": "paws360"}},
        "sender": {"login": "github-actions[bot]"},
    }


def signed_deliveries(count: int, secret: str, *, start: int = 0) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies and headers, made before the clock starts (GitHub signs; the server only verifies)."""
    out = []
    for i in range(start, start + count):
        body = json.dumps(workflow_job_payload(i)).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/benchmark",
            "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
        }
        out.append((body, headers))
    return out


async def _send(session: aiohttp.ClientSession, url: str, delivery: tuple[bytes, dict[str, str]]) -> bool:
    body, headers = delivery
    async with session.post(url, data=body, headers=headers) as answer:
        await answer.read()
        return answer.status in (200, 202)


async def paced(urls: list[str], deliveries: list[tuple[bytes, dict[str, str]]], *, rate: float, server: str) -> Load:
    """`rate` deliveries a second, delivery i to `urls[i mod n]` (several replicas behind one address); latency from
    the moment a delivery was due to its answer, so a stalled server is not given time off (no coordinated
    omission)."""
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        loop = asyncio.get_running_loop()

        async def one(url: str, delivery: tuple[bytes, dict[str, str]], due: float) -> None:
            nonlocal errors
            ok = await _send(session, url, delivery)
            latencies.append(loop.time() - due)
            errors += 0 if ok else 1

        began = loop.time() + 0.05
        tasks = []
        for i, delivery in enumerate(deliveries):
            due = began + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load itself, not waiting for a condition
            tasks.append(asyncio.create_task(one(urls[i % len(urls)], delivery, due)))
        await asyncio.gather(*tasks)
        seconds = loop.time() - began
    return _load(server, f"paced {rate:g}/s", latencies, seconds, errors)


async def flat_out(url: str, deliveries: list[tuple[bytes, dict[str, str]]], *, concurrency: int, server: str) -> Load:
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(deliveries))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        loop = asyncio.get_running_loop()

        async def worker() -> None:
            nonlocal errors
            while queue:
                delivery = queue.pop()
                sent = loop.time()
                ok = await _send(session, url, delivery)
                latencies.append(loop.time() - sent)
                errors += 0 if ok else 1

        began = loop.time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = loop.time() - began
    return _load(server, f"max, {concurrency} connections", latencies, seconds, errors)


def _load(server: str, mode: str, latencies: list[float], seconds: float, errors: int) -> Load:
    ms = sorted(x * 1000 for x in latencies)
    return Load(
        server=server,
        mode=mode,
        deliveries=len(ms),
        seconds=round(seconds, 3),
        per_second=round(len(ms) / seconds, 1),
        p50_ms=round(percentile(ms, 50), 2),
        p99_ms=round(percentile(ms, 99), 2),
        max_ms=round(ms[-1], 2),
        errors=errors,
    )


def run_load(pid: int, load: Any) -> Load:
    """Runs one load coroutine and charges it the CPU time both sides spent."""
    server_before, client_before = cpu_seconds(pid), time.process_time()
    result: Load = asyncio.run(load)
    result.server_cpu_ms = round((cpu_seconds(pid) - server_before) * 1000 / result.deliveries, 3)
    result.client_cpu_ms = round((time.process_time() - client_before) * 1000 / result.deliveries, 3)
    return result


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the bare endpoint exited")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):  # noqa: S310 (a loopback http URL built here)
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.01)
    raise RuntimeError("the bare endpoint did not come up")


def measure(*, count: int, rate: float, concurrency: int, database_url: str | None = None) -> dict[str, Any]:
    loads: list[Load] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        # bare first
        reservation = reserve_port()  # `_bare` binds it with SO_REUSEPORT beside the reservation
        port = reservation.port
        bare = subprocess.Popen([sys.executable, "-m", "benchmarks._bare", "--port", str(port)])
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, bare)
            deliveries = signed_deliveries(2 * count, "unused")
            loads.append(run_load(bare.pid, paced([url + "/webhooks"], deliveries[:count], rate=rate, server="bare")))
            loads.append(
                run_load(
                    bare.pid, flat_out(url + "/webhooks", deliveries[count:], concurrency=concurrency, server="bare")
                )
            )
        finally:
            bare.terminate()
            bare.wait(timeout=10)
            reservation.release()
        with BotProcess(Path(tmp) / "bot", database_url=database_url) as bot:
            bot.start()
            deliveries = signed_deliveries(2 * count, bot.webhook_secret)
            url = bot.url + "/webhooks"
            loads.append(run_load(bot.pid, paced([url], deliveries[:count], rate=rate, server="bot")))
            loads.append(run_load(bot.pid, flat_out(url, deliveries[count:], concurrency=concurrency, server="bot")))
    by = {(x.server, x.mode.split()[0]): x for x in loads}
    ratio = by[("bot", "max,")].per_second / by[("bare", "max,")].per_second
    paced_bot = by[("bot", "paced")]
    return {
        "benchmark": "ingest",
        "parameters": {"count": count, "rate": rate, "concurrency": concurrency},
        "loads": [asdict(x) for x in loads],
        "ratio": round(ratio, 2),
        "goals": {
            "ratio": {"goal": f">= {GOAL_RATIO}", "value": round(ratio, 2), "met": ratio >= GOAL_RATIO},
            "p99_ms_at_rate": {
                "goal": f"< {GOAL_P99_MS:g}",
                "value": paced_bot.p99_ms,
                "met": paced_bot.p99_ms < GOAL_P99_MS and paced_bot.errors == 0,
            },
        },
    }


def show(result: dict[str, Any]) -> None:
    print("webhook ingest on loopback (workflow_job deliveries, ~10 KB, signed, unique ids)")
    header = ("server", "load", "n", "deliveries/s", "p50 ms", "p99 ms", "max ms", "errors", "server CPU ms/delivery")
    rows = [
        (
            x["server"],
            x["mode"],
            x["deliveries"],
            x["per_second"],
            x["p50_ms"],
            x["p99_ms"],
            x["max_ms"],
            x["errors"],
            x["server_cpu_ms"],
        )
        for x in result["loads"]
    ]
    print_table(header, rows)
    goals = result["goals"]
    print()
    print_table(
        ("measure", "value", "goal", "met"),
        [
            Row(
                "bot ÷ bare deliveries/s (max)", goals["ratio"]["value"], goals["ratio"]["goal"], goals["ratio"]["met"]
            ),
            Row(
                f"bot p99 ms at {result['parameters']['rate']:g}/s",
                goals["p99_ms_at_rate"]["value"],
                goals["p99_ms_at_rate"]["goal"],
                goals["p99_ms_at_rate"]["met"],
            ),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="deliveries per load (default 2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="paced deliveries per second (default 200)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections at max throughput (default 16)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--database-url", help="the bot's store on this (empty) PostgreSQL database instead of SQLite (a secret)"
    )
    args = parser.parse_args(argv)
    result = measure(count=args.count, rate=args.rate, concurrency=args.concurrency, database_url=args.database_url)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
