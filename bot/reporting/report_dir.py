"""Writes a verification's report directory: verification.json, report.md, the timeline picture (timeline.svg,
timeline.png) and (for the lab) lab-truth.jsonl."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bot.model import Verification
from bot.reporting.timeline import timeline_png, timeline_svg

REPORT_JSON = "verification.json"
REPORT_MD = "report.md"
TRUTH_LOG = "lab-truth.jsonl"
TIMELINE_SVG = "timeline.svg"
TIMELINE_PNG = "timeline.png"


def report_json(verification: Verification) -> str:
    """verification.json's text (also what is attached to JIRA)."""
    return json.dumps(verification.to_report(), indent=2, sort_keys=False) + "\n"


def write_report_dir(
    directory: Path, verification: Verification, *, report_md: str, truth_log: Path | None = None
) -> list[Path]:
    """Write the files and return their paths. `report_md` is the final PR comment body, byte for byte."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / REPORT_JSON, directory / REPORT_MD]
    written[0].write_text(report_json(verification), encoding="utf-8")
    written[1].write_text(report_md, encoding="utf-8")
    svg, png = directory / TIMELINE_SVG, directory / TIMELINE_PNG
    svg.write_text(timeline_svg(verification), encoding="utf-8")
    png.write_bytes(timeline_png(verification))
    written += [svg, png]
    if truth_log is not None and truth_log.exists():
        target = directory / TRUTH_LOG
        shutil.copyfile(truth_log, target)
        written.append(target)
    return written
