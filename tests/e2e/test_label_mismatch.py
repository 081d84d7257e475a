"""Fault `label-mismatch` end to end (issue 14 §3): the primary runner registers without its deploy label, so the
deploy job waits for a runner that never comes; the bot says so within `thresholds.queue` + 10 s, naming the labels
the job asks for and each online runner with its labels, and cancels the run instead of waiting out run_timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.model import parse_ts

from .checks import outcome

pytestmark = pytest.mark.lab


def test_label_mismatch_fails_normal_deploy_on_job_picked_up_naming_the_labels(tmp_path: Path) -> None:
    with outcome(tmp_path, ("label-mismatch",), "/verify-staging normal-deploy") as result:
        result.check({"normal-deploy": {"job-picked-up"}})
        settings = yaml.safe_load(Path(str(result.world.state["settings_path"])).read_text(encoding="utf-8"))
        environment = next(iter(settings["environments"].values()))
        queue = float(environment["thresholds"]["queue"])
        runners = result.world.runners()
        truth = result.world.truth()
    normal = next(s for s in result.report["scenarios"] if s["id"] == "normal-deploy")
    reason = str(normal["reason"])
    primary = next(r for r in environment["runners"] if r["role"] == "primary")
    wanted = ", ".join(next(e["labels"] for e in truth if e["event"] == "job_queued" and e["job"] == "deploy"))
    assert reason.startswith("deploy waited "), reason
    assert f": no online runner has all of [{wanted}]; online: " in reason, reason
    for name, runner in runners.items():  # every online runner, with the labels GitHub lists for it
        labels = ", ".join(str(label["name"]) for label in runner["labels"])
        assert f"{name} [{labels}]" in reason, (name, reason)
    assert "production" not in {str(label["name"]) for label in runners[primary["name"]]["labels"]}
    # Diagnosed within the queue threshold + 10 s of the job being queued, and the run cancelled then.
    queued = next(e for e in truth if e["event"] == "job_queued" and e["job"] == "deploy")
    cancelled = next(e for e in truth if e["event"] == "run_cancelled" and e["run_id"] == queued["run_id"])
    at_queued, at_cancelled = parse_ts(queued["at"]), parse_ts(cancelled["at"])
    assert at_queued is not None and at_cancelled is not None
    diagnosed = (at_cancelled - at_queued).total_seconds()
    print(f"label-mismatch: deploy queued -> run cancelled {diagnosed:.1f} s (queue {queue:g} s); {reason}")
    assert diagnosed <= queue + 10, (queued, cancelled)
    assert [r["conclusion"] for r in normal["runs"]] == ["cancelled"]
