"""Webhook ingest with more than one replica (issue 16 §4): two `verify-staging serve` replicas sharing one PostgreSQL
database, the deliveries spread over them in turn, side by side with one replica on its SQLite file, in one run.

PostgreSQL is a throwaway cluster this benchmark starts (`scripts/postgres.sh`, fsync off: not a production
server's numbers) and stops. Each configuration gets the same paced load: `--rate` signed `workflow_job`
deliveries/s (GitHub's payload, unique ids) for `--count` deliveries; latency is from the moment a delivery was due
to its answer (no coordinated omission). Every delivery also goes to the other replica once more (a GitHub retry
reaching another pod), which must be answered as a duplicate: the table counts the duplicates that were not.

The time from an owner's death to the restoration of what it stopped is measured on the lab by
`tests/e2e/test_replicas.py` (it prints it), not here: it needs runners and SSH hosts.

    .venv/bin/python -m benchmarks.replicas [--count 2000] [--rate 200] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._bot import BotProcess
from benchmarks.ingest import Load, _load, _send, signed_deliveries
from benchmarks.report import print_result, print_table
from tests.support.postgres import throwaway_postgres


async def paced_over(
    urls: list[str], deliveries: list[tuple[bytes, dict[str, str]]], *, rate: float, server: str
) -> tuple[Load, int]:
    """The paced load, delivery i to replica i mod n; then each delivery again to the next replica. Returns the
    load and how many of those repeats were not answered as duplicates."""
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
        repeats_processed = 0
        for i, (body, headers) in enumerate(deliveries[: min(len(deliveries), 200)]):
            async with session.post(urls[(i + 1) % len(urls)], data=body, headers=headers) as answer:
                answered = await answer.json(content_type=None)
                repeats_processed += 0 if answered.get("outcome") == "duplicate" else 1
    return _load(server, f"paced {rate:g}/s", latencies, seconds, errors), repeats_processed


def measure(*, count: int, rate: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        with BotProcess(Path(tmp) / "sqlite") as bot:
            bot.start()
            deliveries = signed_deliveries(count, bot.webhook_secret)
            load, repeats = asyncio.run(
                paced_over([bot.url + "/webhooks"], deliveries, rate=rate, server="1 replica, SQLite")
            )
            rows.append({**asdict(load), "repeats_processed": repeats})
        with throwaway_postgres(Path(tmp) / "postgres") as url:
            first = BotProcess(Path(tmp) / "pg-a", database_url=url)
            second = BotProcess(Path(tmp) / "pg-b", database_url=url, webhook_secret=first.webhook_secret)
            with first, second:
                first.start()
                second.start()
                deliveries = signed_deliveries(count, first.webhook_secret, start=count)
                urls = [first.url + "/webhooks", second.url + "/webhooks"]
                load, repeats = asyncio.run(paced_over(urls, deliveries, rate=rate, server="2 replicas, PostgreSQL"))
                rows.append({**asdict(load), "repeats_processed": repeats})
    return {"benchmark": "replicas", "parameters": {"count": count, "rate": rate}, "loads": rows}


def show(result: dict[str, Any]) -> None:
    print("webhook ingest, one replica on SQLite against two replicas on one PostgreSQL (loopback, paced)")
    header = ("configuration", "n", "deliveries/s", "p50 ms", "p99 ms", "max ms", "errors", "repeats processed")
    print_table(
        header,
        [
            (x["server"], x["deliveries"], x["per_second"], x["p50_ms"], x["p99_ms"], x["max_ms"], x["errors"],
             x["repeats_processed"])
            for x in result["loads"]
        ],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="deliveries per configuration (default 2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="paced deliveries per second (default 200)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(count=args.count, rate=args.rate)
    print_result(result, show, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
