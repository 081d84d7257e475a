"""How every benchmark prints: a small aligned table, the goal next to each number, and percentiles."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple


class Row(NamedTuple):
    measure: str
    value: object
    goal: str
    met: bool | None


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _cell(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "NO"
    if value is None:
        return "-"
    return str(value)


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def machine() -> dict[str, object]:
    """Where and when a number was measured."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def scenario_benchmark_main(
    doc: str, measure: Callable[..., dict[str, Any]], show: Callable[[dict[str, Any]], None], argv: list[str] | None
) -> int:
    """The command line of a lab benchmark that takes `--scenarios` and `--json`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scenarios", default="", help="comma-separated scenario ids (default: all five)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = measure(scenarios=args.scenarios)
    print(json.dumps(result, indent=2)) if args.json else show(result)
    return 0


def print_result(result: dict[str, Any], show: Callable[[dict[str, Any]], None], *, as_json: bool) -> None:
    """A benchmark's result as JSON (its `--json`) or as its table (`show`)."""
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        show(result)
