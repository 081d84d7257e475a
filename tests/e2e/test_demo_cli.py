"""`verify-staging demo` exit status as scripts see it: 1 when a selected scenario failed (with a report directory
whose verification.json validates), 2 with one line on stderr when the command cannot run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tests.paths import REPO_ROOT, REPORT_SCHEMA

DEMO_TIMEOUT = 300


def demo(*args: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "bot", "demo", "--report-dir", str(report_dir), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=DEMO_TIMEOUT, cwd=REPO_ROOT, check=False)


@pytest.mark.lab
def test_a_failed_rollback_exits_1_and_writes_a_valid_report(tmp_path: Path) -> None:
    done = demo("--fault", "no-rollback", "--scenarios", "rollback", report_dir=tmp_path / "report")
    assert done.returncode == 1, done.stderr[-2000:]
    report = json.loads((tmp_path / "report" / "verification.json").read_text(encoding="utf-8"))
    schema_path = REPORT_SCHEMA
    jsonschema.validate(report, json.loads(schema_path.read_text(encoding="utf-8")))
    [rollback] = report["scenarios"]
    assert (rollback["id"], rollback["conclusion"]) == ("rollback", "failed")
    assert "rollback" in done.stdout.lower() and "FAIL" in done.stdout
    assert (tmp_path / "report" / "report.md").read_text(encoding="utf-8").count("Test 4") == 1
    # The timeline picture beside them: SVG for people, PNG for JIRA's preview.
    assert "<svg" in (tmp_path / "report" / "timeline.svg").read_text(encoding="utf-8")
    assert (tmp_path / "report" / "timeline.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_an_unknown_fault_exits_2_with_one_line_and_no_report(tmp_path: Path) -> None:
    done = demo("--fault", "nonsense", report_dir=tmp_path / "report")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nonsense" in lines[0], done.stderr
    assert not (tmp_path / "report").exists()
