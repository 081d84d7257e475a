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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.model import JobRecord, ScenarioId, ScenarioResult, Verification
from bot.texts import evidence as texts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib is imported where a picture is drawn, not here: it takes about half a second, and `serve` must answer
# /healthz soon after it starts (most processes never draw at all).

#: The picture's width (inches at DPI): JIRA shows the PNG's preview at about this size.
WIDTH_IN = 14.0
DPI = 100
_ROW_IN = 0.6
_BASE_IN = 3.2
#: GitHub's job timestamps are whole seconds; a zero-length bar would vanish.
_MIN_BAR = timedelta(seconds=1)

_COLOURS = {
    "success": "#2da44e",
    "failure": "#cf222e",
    "other": "#8c959f",
    "runner": "#bf8700",
    "backend": "#8250df",
    "fault": "#57606a",
    "failover": "#0969da",
    "rollback": "#bc4c00",
    "fired": "#cf222e",
    "notified": "#1a7f37",
}

#: Text stays text in the SVG (searchable, escaped by matplotlib) and is never read as math; ids are stable.
#: (Typed Any: matplotlib's stubs spell rc_context's keys as one long Literal.)
_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "verify-staging-timeline",
    "text.parse_math": False,
    "text.usetex": False,
    "font.size": 9,
}


@dataclass(frozen=True)
class _Bar:
    job_id: int
    runner: str
    label: str
    start: datetime
    end: datetime
    colour: str


@dataclass(frozen=True)
class _Band:
    index: int
    host: str
    kind: str
    start: datetime
    end: datetime
    restored: bool


@dataclass(frozen=True)
class _Marker:
    gid: str
    label: str
    at: datetime
    colour: str


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
    rows = len(_rows(_bars(v), _alert_points(v)))
    return WIDTH_IN, _BASE_IN + _ROW_IN * max(rows, 1)


def _figure(v: Verification) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    bars, bands, deadlines, points = _bars(v), _bands(v), _deadlines(v), _alert_points(v)
    rows = _rows(bars, points)
    figure = Figure(figsize=_size_in(v), dpi=DPI, layout="constrained")
    ax = figure.add_subplot()
    title = texts.TIMELINE_TITLE.format(repository=v.repository, pull_request=v.pull_request, environment=v.environment)
    ax.set_title(title, loc="left", pad=14)
    start, end = _span(v, bars, bands, deadlines, points)
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
    _draw_deadlines(ax, deadlines, handles)
    _draw_points(ax, points, rows, handles)
    figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    return figure


def _draw_bars(ax: Any, bars: list[_Bar], rows: list[str], handles: list[Any]) -> None:
    from matplotlib.patches import Patch

    on_row: dict[str, int] = {}
    for bar in bars:
        y = rows.index(bar.runner)
        left = _x(bar.start)
        width = _x(bar.end) - left
        (rect,) = ax.barh(y, width, left=left, height=0.5, color=bar.colour, edgecolor="#24292f", linewidth=0.4)
        rect.set_gid(f"job-{bar.job_id}")
        # Labels of a row's jobs alternate above and below their bars, so short neighbours stay readable.
        above = on_row.get(bar.runner, 0) % 2 == 0
        on_row[bar.runner] = on_row.get(bar.runner, 0) + 1
        y_text, va = (y - 0.27, "bottom") if above else (y + 0.27, "top")
        ax.text(left, y_text, bar.label, fontsize=7, va=va, clip_on=True)
    legend = [
        (_COLOURS["success"], texts.LEGEND_JOB_SUCCESS),
        (_COLOURS["failure"], texts.LEGEND_JOB_FAILURE),
        (_COLOURS["other"], texts.LEGEND_JOB_OTHER),
    ]
    used = {bar.colour for bar in bars}
    handles.extend(Patch(facecolor=c, edgecolor="#24292f", label=label) for c, label in legend if c in used)


def _draw_bands(ax: Any, bands: list[_Band], handles: list[Any]) -> None:
    from matplotlib.patches import Patch

    seen: set[str] = set()
    for band in bands:
        colour = _COLOURS[band.kind]
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


def _draw_deadlines(ax: Any, deadlines: list[_Marker], handles: list[Any]) -> None:
    from matplotlib.lines import Line2D

    for deadline in deadlines:
        x = _x(deadline.at)
        ax.axvline(x, color=deadline.colour, linestyle="--", linewidth=1.2, gid=deadline.gid)
        # A triangle on the top edge, so the deadline reads as a marker even where bars cover the line.
        ax.plot([x], [1.0], marker="v", markersize=9, color=deadline.colour, transform=ax.get_xaxis_transform(),
                clip_on=False)  # fmt: skip
        handles.append(Line2D([], [], color=deadline.colour, linestyle="--", marker="v", label=deadline.label))


def _draw_points(ax: Any, points: list[_Marker], rows: list[str], handles: list[Any]) -> None:
    from matplotlib.lines import Line2D

    if not points:
        return
    y = rows.index(texts.TIMELINE_ALERTS_ROW)
    for point, shape in zip(points, ("*", "D"), strict=False):
        ax.plot([_x(point.at)], [y], marker=shape, markersize=11 if shape == "*" else 7,
                color=point.colour, linestyle="none", gid=point.gid)  # fmt: skip
        handles.append(
            Line2D([], [], marker=shape, color=point.colour, linestyle="none", markersize=8, label=point.label)
        )


# ------------------------------------------------------------------------------------------ what is drawn
def _jobs(v: Verification) -> Iterator[tuple[ScenarioResult, JobRecord]]:
    for scenario in v.scenarios:
        for run in scenario.runs:
            for job in run.jobs:
                yield scenario, job


def _bars(v: Verification) -> list[_Bar]:
    bars = []
    for scenario, job in _jobs(v):
        # A skipped job (e.g. rollback when health checks passed) never ran on any runner.
        if job.started_at is None or job.conclusion == "skipped" or not job.runner_name:
            continue
        end = job.completed_at or v.completed_at or job.started_at
        end = max(end, job.started_at + _MIN_BAR)
        colour = {"success": _COLOURS["success"], "failure": _COLOURS["failure"]}.get(
            job.conclusion or "", _COLOURS["other"]
        )
        label = f"{scenario.id.value}: {job.name}"
        bars.append(_Bar(job.job_id, job.runner_name, label, job.started_at, end, colour))
    return sorted(bars, key=lambda b: b.start)


def _rows(bars: list[_Bar], points: list[_Marker]) -> list[str]:
    rows = sorted({bar.runner for bar in bars})
    return [texts.TIMELINE_ALERTS_ROW, *rows] if points else rows


_FAULT_KIND = {
    ScenarioId.FAILOVER: "runner",
    ScenarioId.MONITORING: "runner",
    ScenarioId.ROLLBACK: "backend",
}
_FAULT_LEGEND = {
    "runner": texts.LEGEND_RUNNER_STOPPED,
    "backend": texts.LEGEND_BACKEND_STOPPED,
    "fault": texts.LEGEND_OTHER_FAULT,
}


def _scenario_at(v: Verification, at: datetime) -> ScenarioResult | None:
    for scenario in v.scenarios:
        if (
            scenario.started_at
            and scenario.started_at <= at
            and (not scenario.completed_at or at <= scenario.completed_at)
        ):
            return scenario
    return None


def _bands(v: Verification) -> list[_Band]:
    bands = []
    for index, r in enumerate(v.restorations):
        if r.injected_at is None:
            continue  # recorded before the harm was done, and the harm never was
        scenario = _scenario_at(v, r.injected_at)
        kind = _FAULT_KIND.get(scenario.id, "fault") if scenario else "fault"
        # Not restored: the band runs to the end of the verification (staging is still harmed).
        end = r.restored_at if r.ok and r.restored_at else (v.completed_at or r.restored_at or r.injected_at)
        end = max(end, r.injected_at + _MIN_BAR)
        bands.append(_Band(index, r.host, kind, r.injected_at, end, restored=r.ok))
    return bands


def _threshold(scenario: ScenarioResult, criterion_id: str) -> float | None:
    for c in scenario.criteria:
        if c.id == criterion_id and isinstance(c.threshold, int | float) and not isinstance(c.threshold, bool):
            return float(c.threshold)
    return None


def _scenario(v: Verification, scenario_id: ScenarioId) -> ScenarioResult | None:
    return next((s for s in v.scenarios if s.id == scenario_id), None)


def _deadlines(v: Verification) -> list[_Marker]:
    deadlines = []
    failover = _scenario(v, ScenarioId.FAILOVER)
    seconds = _threshold(failover, "failover-latency") if failover else None
    anchor = _failover_anchor(failover) if failover else None
    if seconds is not None and anchor is not None:
        label = texts.LEGEND_FAILOVER.format(seconds=seconds)
        deadlines.append(_Marker("deadline-failover", label, anchor + timedelta(seconds=seconds), _COLOURS["failover"]))
    rollback = _scenario(v, ScenarioId.ROLLBACK)
    seconds = _threshold(rollback, "rollback-duration") if rollback else None
    anchor = _rollback_anchor(rollback) if rollback else None
    if seconds is not None and anchor is not None:
        label = texts.LEGEND_ROLLBACK.format(seconds=seconds)
        deadlines.append(_Marker("deadline-rollback", label, anchor + timedelta(seconds=seconds), _COLOURS["rollback"]))
    return deadlines


def _failover_anchor(s: ScenarioResult) -> datetime | None:
    """When the failover clock started: the creation of the run whose job started `failover_latency_s` later."""
    latency = s.measurements.get("failover_latency_s")
    runs = [r for r in s.runs if r.created_at is not None]
    for run in runs:
        assert run.created_at is not None
        for job in run.jobs:
            if latency is not None and job.started_at is not None:
                if abs((job.started_at - run.created_at).total_seconds() - latency) < 0.5:
                    return run.created_at
    return runs[0].created_at if runs else None


def _rollback_anchor(s: ScenarioResult) -> datetime | None:
    """When the rollback clock started: the failed health check's completion (the latest failed job)."""
    failed = [j.completed_at for _, j in _jobs_of(s) if j.conclusion == "failure" and j.completed_at is not None]
    return max(failed) if failed else None


def _jobs_of(s: ScenarioResult) -> Iterator[tuple[int, JobRecord]]:
    for run in s.runs:
        for job in run.jobs:
            yield run.run_id, job


def _alert_points(v: Verification) -> list[_Marker]:
    """The alert's firing and notification: the monitoring scenario measures both from the moment its runner stop
    was in place (the latest fault injected while it ran), so that moment plus the measurements is when."""
    s = _scenario(v, ScenarioId.MONITORING)
    if s is None or s.started_at is None:
        return []
    stopped = [
        r.injected_at for r in v.restorations if r.injected_at is not None and _scenario_at(v, r.injected_at) is s
    ]
    fire_s = s.measurements.get("alert_fire_s")
    if not stopped or fire_s is None:
        return []
    fired = max(stopped) + timedelta(seconds=fire_s)
    points = [_Marker("alert-fired", texts.LEGEND_ALERT_FIRED, fired, _COLOURS["fired"])]
    notify_s = s.measurements.get("notification_s")
    if notify_s is not None:
        notified = fired + timedelta(seconds=notify_s)
        points.append(_Marker("alert-notified", texts.LEGEND_ALERT_NOTIFIED, notified, _COLOURS["notified"]))
    return points


def _span(
    v: Verification, bars: list[_Bar], bands: list[_Band], deadlines: list[_Marker], points: list[_Marker]
) -> tuple[datetime, datetime]:
    times = [t for bar in bars for t in (bar.start, bar.end)]
    times += [t for band in bands for t in (band.start, band.end)]
    times += [m.at for m in (*deadlines, *points)]
    if not times:
        times = [v.started_at, v.completed_at or v.started_at]
    start, end = min(times), max(times)
    pad = max((end - start) * 0.03, timedelta(seconds=5))
    return start - pad, end + pad
