"""The timeline picture as a person reads it: a bar per job on its runner's row, a band per fault, the failover and
rollback deadlines, the alert's firing and notification, a legend and UTC times; hostile names stay text."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib
from PIL import Image

from bot.model import ScenarioId, Verification
from bot.reporting import timeline_events as events
from bot.reporting.mermaid import HOSTED_SECTION
from bot.reporting.report_dir import write_report_dir
from bot.reporting.timeline import timeline_png, timeline_size_px, timeline_svg
from bot.texts import evidence as texts
from tests.fakes.clock import EPOCH
from tests.paths import REPO_ROOT
from tests.support.verifications import finished_with_evidence, new_verification

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    # The bot's own picture under test; expat fetches no DTD and caps entity expansion.
    return ET.fromstring(svg)  # noqa: S314


def ids(svg: str) -> set[str]:
    return {element.get("id", "") for element in parse(svg).iter()}


def texts_of(svg: str) -> list[str]:
    """Every text the SVG shows, as a viewer reads it (entities decoded)."""
    return ["".join(element.itertext()) for element in parse(svg).iter(f"{SVG}text")]


def started_jobs(v: Verification) -> list[int]:
    return [j.job_id for s in v.scenarios for r in s.runs for j in r.jobs if j.started_at]


def test_every_job_is_a_bar_on_its_runners_row_and_every_fault_a_band() -> None:
    v = finished_with_evidence()
    svg = timeline_svg(v)
    found = ids(svg)
    assert {f"job-{job}" for job in started_jobs(v)} <= found
    assert len([i for i in found if i.startswith("job-")]) == len(started_jobs(v)) == 7
    assert {f"fault-{n}" for n in range(len(v.restorations))} <= found
    shown = texts_of(svg)
    # One row per runner that ran a job, and the alert row; each band names its host.
    assert {"production-runner-01", "production-runner-02", texts.TIMELINE_ALERTS_ROW} <= set(shown)
    assert texts.BAND_LABEL.format(host="app-1") in " ".join(shown)
    assert "failover: deploy" in shown


def test_deadlines_alert_points_legend_and_utc_times_are_shown() -> None:
    svg = timeline_svg(finished_with_evidence())
    assert {"deadline-failover", "deadline-rollback", "alert-fired", "alert-notified"} <= ids(svg)
    shown = texts_of(svg)
    legend = {
        texts.LEGEND_JOB_SUCCESS,
        texts.LEGEND_JOB_FAILURE,
        texts.LEGEND_RUNNER_STOPPED,
        texts.LEGEND_BACKEND_STOPPED,
        texts.LEGEND_FAILOVER.format(seconds=30),
        texts.LEGEND_ROLLBACK.format(seconds=300),
        texts.LEGEND_ALERT_FIRED,
        texts.LEGEND_ALERT_NOTIFIED,
    }
    assert legend <= set(shown)
    assert texts.TIMELINE_AXIS.format(date="2026-11-27") in shown
    # The builders' verification runs from 09:00:00 UTC: the axis ticks are wall times in UTC.
    ticks = [t for t in shown if re.fullmatch(r"\d\d:\d\d:\d\d", t)]
    assert "09:00:00" in ticks and len(ticks) >= 3


def test_the_alert_is_drawn_when_it_fired_and_was_notified() -> None:
    """The monitoring scenario measures from the moment its runner stop was in place: 82 s + 5 s fire, + 2 s."""
    v = finished_with_evidence()
    monitoring = v.scenario(ScenarioId.MONITORING)
    without = finished_with_evidence()
    without.scenario(ScenarioId.MONITORING).measurements.pop("notification_s")
    assert "alert-notified" not in ids(timeline_svg(without))
    del monitoring.measurements["alert_fire_s"]
    svg = timeline_svg(v)
    assert not {"alert-fired", "alert-notified"} & ids(svg)
    assert texts.TIMELINE_ALERTS_ROW not in texts_of(svg)


def test_a_fault_not_restored_is_shown_as_such() -> None:
    v = finished_with_evidence()
    v.restorations[1].ok, v.restorations[1].restored_at = False, None
    assert texts.LEGEND_NOT_RESTORED in texts_of(timeline_svg(v))
    assert texts.LEGEND_NOT_RESTORED not in texts_of(timeline_svg(finished_with_evidence()))


def test_hostile_names_stay_text_in_the_svg_and_the_png_still_draws() -> None:
    v = finished_with_evidence()
    job = v.scenarios[0].runs[0].jobs[0]
    job.name = '<script>alert("x")</script> & $\\undefinedmacro{$'
    job.runner_name = "r<img src=x onerror=alert(1)>$x^2$"
    v.restorations[0].host = "</text><script>h()</script>"
    svg = timeline_svg(v)
    root = parse(svg)  # still well-formed XML
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in ("script", "img", "foreignObject")]
    assert "<script" not in svg and "<img" not in svg
    shown = texts_of(svg)
    assert f"normal-deploy: {job.name}" in shown  # shown literally: no math, no markup
    assert job.runner_name in shown
    assert any(v.restorations[0].host in t for t in shown)
    # A `$...$` read as math would raise on the unknown macro while drawing the PNG.
    assert Image.open(io.BytesIO(timeline_png(v))).size == timeline_size_px(v)


def test_the_png_decodes_with_the_announced_size_and_is_not_blank() -> None:
    v = finished_with_evidence()
    image = Image.open(io.BytesIO(timeline_png(v)))
    assert image.format == "PNG"
    assert image.size == timeline_size_px(v) == (1400, round((3.2 + 0.6 * 3) * 100))
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50


def test_a_verification_without_jobs_still_draws_and_says_so() -> None:
    v = new_verification()
    v.completed_at = v.started_at + timedelta(seconds=30)
    svg = timeline_svg(v)
    assert texts.TIMELINE_NO_JOBS in texts_of(svg)
    assert Image.open(io.BytesIO(timeline_png(v))).size == timeline_size_px(v)


def test_drawing_leaves_matplotlibs_settings_as_they_were() -> None:
    before = dict(matplotlib.rcParams)
    timeline_svg(finished_with_evidence())
    timeline_png(finished_with_evidence())
    assert dict(matplotlib.rcParams) == before


def test_the_same_verification_gives_the_same_svg() -> None:
    assert timeline_svg(finished_with_evidence()) == timeline_svg(finished_with_evidence())


def test_the_report_directory_holds_the_timeline_as_svg_and_png(tmp_path: Path) -> None:
    v = finished_with_evidence()
    written = write_report_dir(tmp_path / "report", v, report_md="# report\n")
    assert {p.name for p in written} >= {"timeline.svg", "timeline.png"}
    assert (tmp_path / "report" / "timeline.svg").read_text(encoding="utf-8") == timeline_svg(v)
    with Image.open(tmp_path / "report" / "timeline.png") as image:
        assert image.size == timeline_size_px(v)


def test_starting_the_bot_does_not_import_matplotlib() -> None:
    """matplotlib costs about half a second to import: only drawing a picture may pay it, not `serve`'s start."""
    code = "import sys, bot.runtime.app; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=False, timeout=60).returncode == 0


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def test_deadlines_and_alert_points_are_where_the_scenarios_measured_them() -> None:
    """Failover: its run was created at 41 s, threshold 30 s. Rollback: the health check failed at 74 s, threshold
    300 s. Monitoring: the runner stop was in place at 82 s; the alert fired 5 s later, was notified 2 s after."""
    v = finished_with_evidence()
    assert events.deadlines(v) == [
        events.Marker(events.MarkerKind.FAILOVER_DEADLINE, at(71), 30.0),
        events.Marker(events.MarkerKind.ROLLBACK_DEADLINE, at(374), 300.0),
    ]
    assert events.alert_points(v) == [
        events.Marker(events.MarkerKind.ALERT_FIRED, at(87)),
        events.Marker(events.MarkerKind.ALERT_NOTIFIED, at(89)),
    ]


def test_faults_are_named_by_what_their_scenario_stops_and_an_unrestored_one_lasts_to_the_end() -> None:
    v = finished_with_evidence()
    v.restorations[2].ok, v.restorations[2].restored_at = False, None
    assert [(b.host, b.kind, b.start, b.end, b.restored) for b in events.fault_bands(v)] == [
        ("runner-1", events.FaultKind.RUNNER, at(40.5), at(51), True),
        ("app-1", events.FaultKind.BACKEND, at(61), at(79), True),
        ("runner-1", events.FaultKind.RUNNER, at(82), at(100), False),
    ]


def test_a_skipped_job_or_one_that_never_started_has_no_bar() -> None:
    v = finished_with_evidence()
    rollback_run = v.scenario(ScenarioId.ROLLBACK).runs[0]
    rollback_run.jobs[2].conclusion = "skipped"
    rollback_run.jobs[1].started_at = None
    assert 80000 not in {b.job_id for b in events.job_bars(v)} and 80001 not in {b.job_id for b in events.job_bars(v)}
    assert len(events.job_bars(v)) == 5


def test_githubs_hosted_runners_share_one_row() -> None:
    v = finished_with_evidence()
    for n, s in enumerate(v.scenarios[:2], start=1):
        s.runs[0].jobs[0].runner_name = f"GitHub Actions {n}"
    rows = {b.runner for b in events.job_bars(v)}
    assert rows == {HOSTED_SECTION, "production-runner-01", "production-runner-02"}
    assert "GitHub Actions 1" not in texts_of(timeline_svg(v))
