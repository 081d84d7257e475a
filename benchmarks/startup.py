"""Start-up and memory: seconds from spawning `verify-staging serve` to a 200 from `/healthz`, and the process's
resident memory (VmRSS) after it has ingested `--deliveries` signed `workflow_job` deliveries.

The bot runs with the example settings, a fresh database and secrets in its environment, exactly as an operator
starts it. Start-up is measured `--starts` times (each a fresh process and database); the median is reported.
Goals: start-up < 1.5 s, resident memory < 150 MB after 10,000 deliveries.

    .venv/bin/python -m benchmarks.startup [--starts 5] [--deliveries 10000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._bot import BotProcess, rss_mib
from benchmarks.ingest import flat_out, signed_deliveries
from benchmarks.report import Row, machine, print_table

GOAL_START_S = 1.5
GOAL_RSS_MB = 150.0
BATCH = 2000  # deliveries signed at a time, so the load generator's own memory stays small


def measure(*, starts: int, deliveries: int) -> dict[str, Any]:
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for i in range(starts):
            with BotProcess(Path(tmp) / f"start-{i}") as bot:
                times.append(bot.start())
        with BotProcess(Path(tmp) / "memory") as bot:
            bot.start()
            rss_idle = rss_mib(bot.pid)
            sent = errors = 0
            while sent < deliveries:
                batch = signed_deliveries(min(BATCH, deliveries - sent), bot.webhook_secret, start=sent)
                load = asyncio.run(flat_out(bot.url + "/webhooks", batch, concurrency=8, server="bot"))
                sent += load.deliveries
                errors += load.errors
            rss_after = rss_mib(bot.pid)
    start = statistics.median(times)
    rss_mb = rss_after * 1.048576  # MiB -> MB
    return {
        "benchmark": "startup",
        "machine": machine(),
        "parameters": {"starts": starts, "deliveries": deliveries},
        "startup_s": [round(t, 3) for t in times],
        "rss_idle_mib": round(rss_idle, 1),
        "rss_after_mib": round(rss_after, 1),
        "delivery_errors": errors,
        "goals": {
            "startup_s": {"goal": f"< {GOAL_START_S:g}", "value": round(start, 3), "met": start < GOAL_START_S},
            "rss_mb": {"goal": f"< {GOAL_RSS_MB:g}", "value": round(rss_mb, 1), "met": rss_mb < GOAL_RSS_MB},
        },
    }


def show(result: dict[str, Any]) -> None:
    goals = result["goals"]
    n = result["parameters"]["deliveries"]
    print("verify-staging serve: start-up to a ready /healthz, and resident memory")
    print_table(
        ("measure", "value", "goal", "met"),
        [
            Row(
                f"start-up s (median of {len(result['startup_s'])})",
                goals["startup_s"]["value"],
                goals["startup_s"]["goal"],
                goals["startup_s"]["met"],
            ),
            Row("resident MiB when ready", result["rss_idle_mib"], "", None),
            Row(
                f"resident MB after {n:,} deliveries",
                goals["rss_mb"]["value"],
                goals["rss_mb"]["goal"],
                goals["rss_mb"]["met"],
            ),
            Row("deliveries refused", result["delivery_errors"], "0", result["delivery_errors"] == 0),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="start-ups to time (default 5)")
    parser.add_argument("--deliveries", type=int, default=10_000, help="deliveries before reading memory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(starts=args.starts, deliveries=args.deliveries)
    print(json.dumps(result, indent=2)) if args.json else show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
