"""The verification's timeline as a picture: the workflow jobs per runner as bars, each injected fault as a shaded
band, the failover and rollback deadlines as markers, the alert's firing and notification as points, a legend and
UTC times. SVG for the details page (crisp, text stays text) and PNG for JIRA's preview.

Both are drawn by matplotlib's object API (a `Figure`, never pyplot: no global figure, no display), from the
result model alone. Job, runner and host names come from outside: matplotlib escapes them in the SVG, and math
text is off so a `$` is shown as a dollar, not parsed.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.github.models import branch_name
from bot.model import Trigger, Verification
from bot.reporting.timeline_events import (
    FaultBand,
    FaultKind,
    JobBar,
    Marker,
    MarkerKind,
    alert_points,
    deadlines,
    fault_bands,
    job_bars,
)
from bot.texts import evidence as texts
from bot.texts import schedule as schedule_texts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib is imported where a picture is drawn, not here: it takes about half a second, and `serve` must answer
# /healthz soon after it starts (most processes never draw at all).

#: The picture's width (inches at DPI): JIRA shows the PNG's preview at about this size.
WIDTH_IN = 14.0
DPI = 100
_ROW_IN = 0.6
_BASE_IN = 3.2

_JOB_COLOURS = {"success": "#2da44e", "failure": "#cf222e"}
_JOB_OTHER = "#8c959f"
_FAULT_COLOURS = {FaultKind.RUNNER: "#bf8700", FaultKind.BACKEND: "#8250df", FaultKind.OTHER: "#57606a"}
_FAULT_LEGEND = {
    FaultKind.RUNNER: texts.LEGEND_RUNNER_STOPPED,
    FaultKind.BACKEND: texts.LEGEND_BACKEND_STOPPED,
    FaultKind.OTHER: texts.LEGEND_OTHER_FAULT,
}
_MARKER_COLOURS = {
    MarkerKind.FAILOVER_DEADLINE: "#0969da",
    MarkerKind.ROLLBACK_DEADLINE: "#bc4c00",
    MarkerKind.ALERT_FIRED: "#cf222e",
    MarkerKind.ALERT_NOTIFIED: "#1a7f37",
}
_MARKER_LEGEND = {
    MarkerKind.FAILOVER_DEADLINE: texts.LEGEND_FAILOVER,
    MarkerKind.ROLLBACK_DEADLINE: texts.LEGEND_ROLLBACK,
    MarkerKind.ALERT_FIRED: texts.LEGEND_ALERT_FIRED,
    MarkerKind.ALERT_NOTIFIED: texts.LEGEND_ALERT_NOTIFIED,
}
_POINT_SHAPES = {MarkerKind.ALERT_FIRED: ("*", 11), MarkerKind.ALERT_NOTIFIED: ("D", 7)}

#: Text stays text in the SVG (searchable, escaped by matplotlib) and is never read as math; ids are stable.
#: (Typed Any: matplotlib's stubs spell rc_context's keys as one long Literal.)
_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "verify-staging-timeline",
    "text.parse_math": False,
    "text.usetex": False,
    "font.size": 9,
}


def timeline_svg(v: Verification) -> str:
    """The timeline as a standalone SVG document."""
    return _render(v, "svg").decode("utf-8")


def timeline_png(v: Verification) -> bytes:
    """The timeline as a PNG of `timeline_size_px(v)` pixels."""
    return _render(v, "png")


def timeline_size_px(v: Verification) -> tuple[int, int]:
    """(width, height) of the PNG: one row per runner that ran a job, plus one for the alert when it was seen."""
    width, height = _size_in(v)
    return round(width * DPI), round(height * DPI)


# ------------------------------------------------------------------------------------------------ drawing
_UNIX = datetime(1970, 1, 1, tzinfo=UTC)


def _x(ts: datetime) -> float:
    """matplotlib's date number: days since its default epoch (1970-01-01 UTC), as `dates.date2num` gives."""
    return (ts - _UNIX).total_seconds() / 86400


def _at(x: float) -> datetime:
    return _UNIX + timedelta(days=x)


#: matplotlib's settings are process-wide while a picture is drawn (rc_context restores them after): one drawing at
#: a time, so a drawing in another thread never sees them half-restored.
_DRAWING = threading.Lock()


@contextmanager
def _settings() -> Iterator[None]:
    from matplotlib import rc_context

    with _DRAWING, rc_context(_RC):
        yield


def _render(v: Verification, fmt: str) -> bytes:
    out = io.BytesIO()
    with _settings():
        figure = _figure(v)
        # No date in the metadata: the same verification always gives the same picture.
        metadata: dict[str, str | None] = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(out, format=fmt, dpi=DPI, metadata=metadata)
    return out.getvalue()


def _size_in(v: Verification) -> tuple[float, float]:
    rows = len(_rows(job_bars(v), alert_points(v)))
    return WIDTH_IN, _BASE_IN + _ROW_IN * max(rows, 1)


def _title(v: Verification) -> str:
    if v.trigger is Trigger.SCHEDULE:
        return schedule_texts.TIMELINE_TITLE.format(
            repository=v.repository, ref=branch_name(v.ref), environment=v.environment
        )
    return texts.TIMELINE_TITLE.format(repository=v.repository, pull_request=v.pull_request, environment=v.environment)


def _figure(v: Verification) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    bars, bands, lines, points = job_bars(v), fault_bands(v), deadlines(v), alert_points(v)
    rows = _rows(bars, points)
    figure = Figure(figsize=_size_in(v), dpi=DPI, layout="constrained")
    ax = figure.add_subplot()
    title = _title(v)
    ax.set_title(title, loc="left", pad=14)
    start, end = _span(v, bars, bands, [*lines, *points])
    ax.set_xlim(_x(start), _x(end))
    ax.set_ylim(len(rows) - 0.4, -0.6)
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.xaxis_date(tz=UTC)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _at(x).strftime("%H:%M:%S")))
    ax.set_xlabel(texts.TIMELINE_AXIS.format(date=start.astimezone(UTC).strftime("%Y-%m-%d")))
    ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
    ax.set_axisbelow(True)
    if not bars:
        ax.text(0.5, 0.5, texts.TIMELINE_NO_JOBS, transform=ax.transAxes, ha="center", va="center")
    handles: list[Any] = []
    _draw_bands(ax, bands, handles)
    _draw_bars(ax, bars, rows, handles)
    _draw_deadlines(ax, lines, handles)
    _draw_points(ax, points, rows, handles)
    figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return figure


def _draw_bars(ax: Any, bars: list[JobBar], rows: list[str], handles: list[Any]) -> None:
    from matplotlib.patches import Patch

    on_row: dict[str, int] = {}
    for bar in bars:
        y = rows.index(bar.runner)
        left = _x(bar.start)
        width = _x(bar.end) - left
        colour = _JOB_COLOURS.get(bar.conclusion or "", _JOB_OTHER)
        (rect,) = ax.barh(y, width, left=left, height=0.5, color=colour, edgecolor="#24292f", linewidth=0.4)
        rect.set_gid(f"job-{bar.job_id}")
        # Labels of a row's jobs alternate above and below their bars, so short neighbours stay readable.
        above = on_row.get(bar.runner, 0) % 2 == 0
        on_row[bar.runner] = on_row.get(bar.runner, 0) + 1
        y_text, va = (y - 0.27, "bottom") if above else (y + 0.27, "top")
        ax.text(left, y_text, f"{bar.scenario.value}: {bar.name}", fontsize=7, va=va, clip_on=True)
    legend = [
        (_JOB_COLOURS["success"], texts.LEGEND_JOB_SUCCESS),
        (_JOB_COLOURS["failure"], texts.LEGEND_JOB_FAILURE),
        (_JOB_OTHER, texts.LEGEND_JOB_OTHER),
    ]
    used = {_JOB_COLOURS.get(bar.conclusion or "", _JOB_OTHER) for bar in bars}
    handles.extend(Patch(facecolor=c, edgecolor="#24292f", label=label) for c, label in legend if c in used)


def _draw_bands(ax: Any, bands: list[FaultBand], handles: list[Any]) -> None:
    from matplotlib.patches import Patch

    seen: set[FaultKind] = set()
    for band in bands:
        colour = _FAULT_COLOURS[band.kind]
        ax.axvspan(
            _x(band.start),
            _x(band.end),
            color=colour,
            alpha=0.18,
            hatch=None if band.restored else "//",
            gid=f"fault-{band.index}",
        )
        # Written upright inside the band: bands a few seconds apart would overwrite each other's labels.
        ax.text(
            _x(band.start),
            0.02,
            " " + texts.BAND_LABEL.format(host=band.host),
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            color=colour,
            rotation=90,
            ha="left",
            va="bottom",
            clip_on=True,
        )
        if band.kind not in seen:
            seen.add(band.kind)
            handles.append(Patch(facecolor=colour, alpha=0.18, label=_FAULT_LEGEND[band.kind]))
    if any(not band.restored for band in bands):
        handles.append(Patch(facecolor="white", hatch="//", edgecolor="#24292f", label=texts.LEGEND_NOT_RESTORED))


def _draw_deadlines(ax: Any, lines: list[Marker], handles: list[Any]) -> None:
    from matplotlib.lines import Line2D

    for deadline in lines:
        x, colour = _x(deadline.at), _MARKER_COLOURS[deadline.kind]
        ax.axvline(x, color=colour, linestyle="--", linewidth=1.2, gid=deadline.kind.value)
        # A triangle on the top edge, so the deadline reads as a marker even where bars cover the line.
        ax.plot([x], [1.0], marker="v", markersize=9, color=colour, transform=ax.get_xaxis_transform(),
                clip_on=False)  # fmt: skip
        label = _MARKER_LEGEND[deadline.kind].format(seconds=deadline.seconds)
        handles.append(Line2D([], [], color=colour, linestyle="--", marker="v", label=label))


def _draw_points(ax: Any, points: list[Marker], rows: list[str], handles: list[Any]) -> None:
    from matplotlib.lines import Line2D

    for point in points:
        y = rows.index(texts.TIMELINE_ALERTS_ROW)
        (shape, size), colour = _POINT_SHAPES[point.kind], _MARKER_COLOURS[point.kind]
        ax.plot([_x(point.at)], [y], marker=shape, markersize=size, color=colour, linestyle="none",
                gid=point.kind.value)  # fmt: skip
        label = _MARKER_LEGEND[point.kind]
        handles.append(Line2D([], [], marker=shape, color=colour, linestyle="none", markersize=8, label=label))


def _rows(bars: list[JobBar], points: list[Marker]) -> list[str]:
    """One row per runner that ran a job, under a row for the alert when it was seen."""
    rows = sorted({bar.runner for bar in bars})
    return [texts.TIMELINE_ALERTS_ROW, *rows] if points else rows


def _span(
    v: Verification, bars: list[JobBar], bands: list[FaultBand], markers: list[Marker]
) -> tuple[datetime, datetime]:
    times = [t for bar in bars for t in (bar.start, bar.end)]
    times += [t for band in bands for t in (band.start, band.end)]
    times += [m.at for m in markers]
    if not times:
        times = [v.started_at, v.completed_at or v.started_at]
    start, end = min(times), max(times)
    pad = max((end - start) * 0.03, timedelta(seconds=5))
    return start - pad, end + pad
