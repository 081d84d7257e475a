"""How each measurement trends over an environment's latest verifications: a sparkline for comments, a small SVG
chart (drawn by hand, every string escaped) for the history page."""

from __future__ import annotations

import html
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.history import HistoryEntry, MeasurementPoint
from bot.model import SCENARIO_ORDER

BARS = "▁▂▃▄▅▆▇█"
#: A verification that did not measure it (the scenario errored or was not selected).
GAP = "·"
WIDTH, HEIGHT, PAD = 240, 48, 4


@dataclass(frozen=True)
class Series:
    """One measurement of one scenario over verifications, oldest first."""

    scenario: str
    measurement: str
    points: tuple[MeasurementPoint, ...]

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points if p.value is not None]

    @property
    def last(self) -> float | None:
        return self.points[-1].value if self.points else None

    @property
    def median(self) -> float | None:
        values = self.values
        return float(statistics.median(values)) if values else None


def series_of(points: Iterable[MeasurementPoint]) -> list[Series]:
    """Group points (oldest first) by scenario and measurement, scenarios in the seed's order."""
    grouped: dict[tuple[str, str], list[MeasurementPoint]] = {}
    for p in points:
        grouped.setdefault((p.scenario, p.measurement), []).append(p)
    order = {s.value: i for i, s in enumerate(SCENARIO_ORDER)}
    keys = sorted(grouped, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
    return [Series(scenario=s, measurement=m, points=tuple(grouped[(s, m)])) for s, m in keys]


def sparkline(values: Sequence[float | None]) -> str:
    """▁▂▃▄▅▆▇█ from the smallest to the largest value; `·` where nothing was measured."""
    known = [v for v in values if v is not None]
    if not known:
        return GAP * len(values)
    low, high = min(known), max(known)
    span = high - low
    return "".join(
        GAP if v is None else BARS[0 if span == 0 else round((v - low) / span * (len(BARS) - 1))] for v in values
    )


def verdict_marks(points: Sequence[MeasurementPoint]) -> str:
    """✓ or ✗ for each point's scenario, aligned with its sparkline."""
    return "".join("✓" if p.passed else "✗" for p in points)


def trend_svg(series: Series, *, title: str) -> str:
    """A small line chart of one series: failed runs red, regressed ones orange; the title is escaped."""
    known = [(i, p) for i, p in enumerate(series.points) if p.value is not None]
    label = html.escape(title, quote=True)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}"><title>{label}</title>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f6f8fa"/>'
    )
    if not known:
        return head + "</svg>"
    values = [p.value for _, p in known if p.value is not None]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(series.points) - 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return PAD + i * step, HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD)

    coords = [xy(i, p.value) for i, p in known if p.value is not None]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{_colour(p)}">'
        f"<title>{html.escape(p.verification_id)}: {p.value:.1f} s</title></circle>"
        for (x, y), (_, p) in zip(coords, known, strict=True)
    )
    return head + f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="1.5"/>{dots}</svg>'


def _colour(p: MeasurementPoint) -> str:
    if not p.passed:
        return "#cf222e"
    return "#bc4c00" if p.regressed else "#1a7f37"


class HistoryReader(Protocol):
    """The part of bot/store/ the history views read."""

    async def history(self, *, environment: str, limit: int, repository: str | None = None) -> list[HistoryEntry]: ...

    async def measurement_points(
        self, *, environment: str, limit: int, repository: str | None = None
    ) -> list[MeasurementPoint]: ...


@dataclass(frozen=True)
class EnvironmentHistory:
    """An environment's latest finished verifications (newest first) and its measurements' trends over them."""

    environment: str
    entries: tuple[HistoryEntry, ...]
    series: tuple[Series, ...]


async def load_history(
    store: HistoryReader, *, environment: str, limit: int, repository: str | None = None
) -> EnvironmentHistory:
    """The latest `limit` verifications of the environment (of one repository, if given) and their trends."""
    entries = await store.history(environment=environment, limit=limit, repository=repository)
    points = await store.measurement_points(environment=environment, limit=limit, repository=repository)
    return EnvironmentHistory(environment=environment, entries=tuple(entries), series=tuple(series_of(points)))
