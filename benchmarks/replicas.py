"""More than one replica (issue 16 §4), in one run: webhook ingest with two `verify-staging serve` replicas sharing
one PostgreSQL database against one replica on its SQLite file, and the time from the death of the replica that owns
a verification to the restoration of the runner it had stopped.

Ingest: PostgreSQL is a throwaway cluster this benchmark starts and stops (`scripts/postgres.sh`, through
tests/support/postgres.py; fsync off: not a production server's numbers). Each configuration gets the same paced
load: `--rate` signed `workflow_job` deliveries/s (GitHub's payload, unique ids) for `--count` deliveries, spread
over the replicas in turn; latency is from the moment a delivery was due to its answer (no coordinated omission).
Every delivery also goes to the other replica once more (a GitHub retry reaching another pod), which must be
answered as a duplicate: the table counts the duplicates that were not.

Takeover: a lab and two replicas, each with a host name of its own (tests/e2e/replicas.py), on a database of such a
cluster, `database.lease_seconds` = `--lease`. Each trial comments `/verify-staging failover`, waits until the
primary runner is stopped (lab-truth.jsonl), SIGKILLs the replica that owns the verification, and reads from the
lab's truth when the runner was started again; then it waits for the `cancelled` verdict, starts a replica in the
dead one's place and checks that nothing is left stopped.

    .venv/bin/python -m benchmarks.replicas [--count 2000] [--rate 200] [--takeovers 3] [--lease 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._bot import BotProcess
from benchmarks.ingest import paced, signed_deliveries
from benchmarks.report import machine, print_result, print_table
from tests.e2e.replicas import Replicated, kill_the_owner_in_failover, replicated_world
from tests.reliability.crash import faults_left, wait_restored
from tests.support import postgres as test_postgres
from tests.support.round_robin import RoundRobinProxy


async def repeats_processed(urls: list[str], deliveries: list[tuple[bytes, dict[str, str]]]) -> int:
    """Each of (at most 200) deliveries once more to the next replica: how many were not answered `duplicate`."""
    processed = 0
    async with aiohttp.ClientSession() as session:
        for i, (body, headers) in enumerate(deliveries[:200]):
            async with session.post(urls[(i + 1) % len(urls)], data=body, headers=headers) as answer:
                answered = await answer.json(content_type=None)
                processed += 0 if answered.get("outcome") == "duplicate" else 1
    return processed


def _ingest_row(
    urls: list[str], deliveries: list[tuple[bytes, dict[str, str]]], *, rate: float, server: str
) -> dict[str, Any]:
    load = asyncio.run(paced(urls, deliveries, rate=rate, server=server))
    # CPU time is not measured here (several server processes): leave its fields out rather than report zeros.
    row = {k: v for k, v in asdict(load).items() if not k.endswith("_cpu_ms")}
    return {**row, "repeats_processed": asyncio.run(repeats_processed(urls, deliveries))}


def ingest(*, count: int, rate: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        with BotProcess(Path(tmp) / "sqlite") as bot:
            bot.start()
            deliveries = signed_deliveries(count, bot.webhook_secret)
            rows.append(_ingest_row([bot.url + "/webhooks"], deliveries, rate=rate, server="1 replica, SQLite"))
        with test_postgres.throwaway_postgres() as url:
            first = BotProcess(Path(tmp) / "pg-a", database_url=url)
            second = BotProcess(Path(tmp) / "pg-b", database_url=url, webhook_secret=first.webhook_secret)
            with first, second:
                first.start()
                second.start()
                deliveries = signed_deliveries(count, first.webhook_secret, start=count)
                urls = [first.url + "/webhooks", second.url + "/webhooks"]
                rows.append(_ingest_row(urls, deliveries, rate=rate, server="2 replicas, PostgreSQL"))
    return rows


def takeover_trial(replicated: Replicated, proxy: RoundRobinProxy) -> dict[str, Any]:
    """One owner killed in `failover` with the primary runner stopped: seconds to the runner's restart, and after."""
    taken = kill_the_owner_in_failover(replicated)
    replicated.replace(taken.owner, proxy)
    left = wait_restored(replicated.world)
    replicated.world.wait_runners_online(timeout=60)
    return {
        "restored_s": round(taken.restored_s, 2),
        "conclusion": taken.verdict.overall["conclusion"],
        "faults_left": left,
    }


def takeovers(*, trials: int, lease: float) -> list[dict[str, Any]]:
    with test_postgres.cluster_for_this_process(), tempfile.TemporaryDirectory(prefix="bench-takeover-") as tmp:
        with replicated_world(Path(tmp), lease_seconds=lease) as (replicated, proxy):
            if faults_left(replicated.world):
                raise RuntimeError(f"the lab is not healthy: {faults_left(replicated.world)}")
            return [takeover_trial(replicated, proxy) for _ in range(trials)]


def measure(*, count: int, rate: float, trials: int, lease: float) -> dict[str, Any]:
    with test_postgres.cluster_for_this_process():  # one cluster for both parts
        result: dict[str, Any] = {
            "benchmark": "replicas",
            "machine": machine(),
            "parameters": {"count": count, "rate": rate, "takeovers": trials, "lease_seconds": lease},
            "loads": ingest(count=count, rate=rate) if count else [],
            "takeovers": takeovers(trials=trials, lease=lease) if trials else [],
        }
    seconds = [t["restored_s"] for t in result["takeovers"]]
    if seconds:
        result["restoration_s"] = {
            "min": min(seconds), "median": round(statistics.median(seconds), 2), "max": max(seconds),
            "goal": f"<= lease + 15 = {lease + 15:g}", "met": max(seconds) <= lease + 15,
        }  # fmt: skip
    return result


def show(result: dict[str, Any]) -> None:
    if result["loads"]:
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
    if result["takeovers"]:
        lease = result["parameters"]["lease_seconds"]
        print(f"\nowner killed in failover, lease {lease:g} s: seconds from the kill to the runner's restart")
        print_table(
            ("trial", "restored s", "verdict", "left stopped"),
            [
                (i + 1, t["restored_s"], t["conclusion"], ", ".join(t["faults_left"]) or "nothing")
                for i, t in enumerate(result["takeovers"])
            ],
        )
        r = result["restoration_s"]
        met = "met" if r["met"] else "NOT met"
        print(f"min {r['min']} s, median {r['median']} s, max {r['max']} s (goal {r['goal']}: {met})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="deliveries per configuration (default 2000; 0 skips)")
    parser.add_argument("--rate", type=float, default=200.0, help="paced deliveries per second (default 200)")
    parser.add_argument("--takeovers", type=int, default=3, help="owner-death trials (default 3; 0 skips)")
    parser.add_argument("--lease", type=float, default=10.0, help="database.lease_seconds for them (default 10)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(count=args.count, rate=args.rate, trials=args.takeovers, lease=args.lease)
    print_result(result, show, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
