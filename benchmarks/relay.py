"""How soon a workflow event that reached one replica reaches another's engine (issue 16 §2), for the three ways the
relay can read: SQLite polling, PostgreSQL polling, PostgreSQL LISTEN/NOTIFY, in one run.

Each mode: two replicas in this process, each a Store of its own on one database (one SQLite file; one throwaway
PostgreSQL cluster that this benchmark starts and stops, fsync off: not a production server's numbers). Replica A
writes `--count` workflow_job events with `Store.relay_event` at random gaps (seeded, uniform between
`--min-gap-ms` and `--max-gap-ms`); replica B's EventRelay runs as the bot runs it and feeds a recording engine.
Latency: from the call to `relay_event` on A to the engine's `observe_job` on B. Polling modes read every
POLL_SECONDS (0.5 s); the LISTEN/NOTIFY mode is the PostgreSQL default (woken by each notification, polling every
NOTIFIED_POLL_SECONDS besides).

    .venv/bin/python -m benchmarks.relay [--count 200] [--seed 16] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.report import machine, percentile, print_result, print_table
from bot.adapters.clock import SystemClock
from bot.github.models import WorkflowJob
from bot.leases import Leases
from bot.relay import POLL_SECONDS, EventRelay
from bot.store import RelayedEvent, Store
from tests.fakes.engine import FakeEngine
from tests.support.payloads import load_fixture
from tests.support.postgres import throwaway_postgres

#: How long after the last write the missing events are waited for, at most.
SETTLE_SECONDS = 10.0


@dataclass
class RecordingEngine(FakeEngine):
    """The engine EventRelay feeds, noting when each job reached it (time.perf_counter())."""

    arrived: dict[int, float] = field(default_factory=dict)

    def observe_job(self, *, installation_id: int, repository: str, job: WorkflowJob) -> None:
        self.arrived.setdefault(job.id, time.perf_counter())


@dataclass(frozen=True)
class Mode:
    name: str
    #: The reader's wait, or None for what the bot uses on that database (LISTEN/NOTIFY on PostgreSQL).
    wake: Callable[[float], Awaitable[None]] | None
    poll_seconds: float | None


POLLING = Mode("polling", wake=SystemClock().sleep, poll_seconds=POLL_SECONDS)
NOTIFIED = Mode("LISTEN/NOTIFY", wake=None, poll_seconds=None)


async def one_mode(location: str, mode: Mode, *, count: int, gaps: list[float]) -> dict[str, Any]:
    a, b = await Store.open(location), await Store.open(location)
    engine = RecordingEngine()
    clock = SystemClock()
    leases = Leases(store=b, clock=clock, replica="replica-b", lease_seconds=30)
    relay = EventRelay(store=b, engine=engine, leases=leases, wake=mode.wake, poll_seconds=mode.poll_seconds)
    job = load_fixture("workflow_job/in_progress.payload.json")["workflow_job"]
    sent: dict[int, float] = {}
    try:
        relay.start()
        if relay.listener is not None:  # what a running replica has: a connected listener
            deadline = time.monotonic() + 30
            while relay.listener.connection_id is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        for i, gap in enumerate(gaps, start=1):
            await asyncio.sleep(gap)  # the load's pacing, not a wait for a condition
            event = RelayedEvent(
                delivery_id=f"bench-{i}", replica="replica-a", repository="octo-org/app", installation_id=1,
                kind="workflow_job", data=json.dumps({**job, "id": i}), received_at=clock.now().timestamp(),
            )  # fmt: skip
            sent[i] = time.perf_counter()
            await a.relay_event(event)
        deadline = time.monotonic() + SETTLE_SECONDS
        while len(engine.arrived) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await relay.stop()
        await a.close()
        await b.close()
    latencies = sorted((engine.arrived[i] - sent[i]) * 1000 for i in sent if i in engine.arrived)
    return {
        "mode": mode.name,
        "events": count,
        "delivered": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1] if latencies else 0.0, 1),
    }


async def measure_modes(*, sqlite: str, postgres: str, count: int, gaps: list[float]) -> list[dict[str, Any]]:
    rows = [{"database": "SQLite", **await one_mode(sqlite, POLLING, count=count, gaps=gaps)}]
    for mode in (POLLING, NOTIFIED):
        rows.append({"database": "PostgreSQL", **await one_mode(postgres, mode, count=count, gaps=gaps)})
        cleaner = await Store.open(postgres)  # the next mode's reader must not read this one's events
        try:
            await cleaner.prune_relayed_events(before=time.time() + 3600)
        finally:
            await cleaner.close()
    return rows


def measure(*, count: int, seed: int, min_gap_ms: float, max_gap_ms: float) -> dict[str, Any]:
    rng = random.Random(seed)
    gaps = [rng.uniform(min_gap_ms, max_gap_ms) / 1000 for _ in range(count)]
    with tempfile.TemporaryDirectory(prefix="bench-relay-") as tmp:
        with throwaway_postgres() as url:
            sqlite = str(Path(tmp) / "sqlite" / "bot.db")
            rows = asyncio.run(measure_modes(sqlite=sqlite, postgres=url, count=count, gaps=gaps))
    parameters = {"count": count, "seed": seed, "min_gap_ms": min_gap_ms, "max_gap_ms": max_gap_ms}
    return {"benchmark": "relay", "parameters": parameters, "machine": machine(), "modes": rows}


def show(result: dict[str, Any]) -> None:
    p = result["parameters"]
    print(
        f"relay latency, Store.relay_event on replica A to replica B's engine ({p['count']} events,"
        f" gaps {p['min_gap_ms']:g}-{p['max_gap_ms']:g} ms, seed {p['seed']})"
    )
    header = ("database", "mode", "events", "delivered", "p50 ms", "p99 ms", "max ms")
    print_table(
        header,
        [(x["database"], x["mode"], x["events"], x["delivered"], x["p50_ms"], x["p99_ms"], x["max_ms"])
         for x in result["modes"]],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="events per mode (default 200)")
    parser.add_argument("--seed", type=int, default=16, help="seed of the random gaps (default 16)")
    parser.add_argument("--min-gap-ms", type=float, default=20.0, help="shortest gap between events (default 20)")
    parser.add_argument("--max-gap-ms", type=float, default=280.0, help="longest gap between events (default 280)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.count < 1 or not 0 <= args.min_gap_ms <= args.max_gap_ms:
        parser.error("--count must be at least 1 and 0 <= --min-gap-ms <= --max-gap-ms")
    result = measure(count=args.count, seed=args.seed, min_gap_ms=args.min_gap_ms, max_gap_ms=args.max_gap_ms)
    print_result(result, show, as_json=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
