"""`/verify-staging abort` on the lab: sent while the monitoring scenario waits for the runner-offline alert (the
primary runner stopped), it starts the runner again within 2 s and the verification concludes `cancelled`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from .harness import running_world

pytestmark = pytest.mark.lab

#: The promise: an abort restores what the verification stopped this soon after the command.
ABORT_WITHIN_S = 2.0


def test_abort_during_the_monitoring_alert_wait_restarts_the_runner_at_once(tmp_path: Path) -> None:
    with running_world(tmp_path) as world:
        before = max((int(r["id"]) for r in world.check_runs()), default=0)
        start = len(world.truth())
        world.comment("/verify-staging monitoring")
        stopped = world.wait_event("runner_stopped", since=start, what="monitoring to stop the primary runner")
        asked = datetime.now(UTC)
        world.comment("/verify-staging abort")
        started = world.wait_event(
            "runner_started", since=start, runner=stopped["runner"], what="the primary runner to be started again"
        )
        took = (datetime.fromisoformat(str(started["at"]).replace("Z", "+00:00")) - asked).total_seconds()
        verdict = world.wait_verdict(after_id=before)
    assert took <= ABORT_WITHIN_S, f"the runner was started {took:.2f} s after the abort"
    assert verdict.overall["conclusion"] == "cancelled"
    alerts = [e for e in world.truth()[start:] if e["event"] == "alert_fired"]
    assert not [e for e in alerts if datetime.fromisoformat(str(e["at"]).replace("Z", "+00:00")) < asked]
