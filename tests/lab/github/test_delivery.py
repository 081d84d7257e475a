"""Webhook delivery: loss, duplicates, delay/reorder as settings, a failing endpoint never blocks the simulation,
and the truth log written by several processes at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lab.github.config import DeliveryFaults
from lab.truth import Truth
from tests.lab.github.conftest import REPO, StartLab


async def test_webhook_loss_drops_the_configured_share_and_records_it(start_lab: StartLab) -> None:
    lab = await start_lab(delivery=DeliveryFaults(drop_share=0.3, seed=5))
    for n in range(40):
        await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": f"c{n}"}, token="pat-alice")
    assert await lab.github.sim.hub.drain()
    dropped = {e.fields["delivery"] for e in lab.truth.events("webhook_dropped")}
    received = {r.headers["X-GitHub-Delivery"] for r in lab.sink.received}
    assert 6 <= len(dropped) <= 20
    assert len(received) + len(dropped) == 40 and not received & dropped


async def test_webhook_chaos_duplicates_keep_their_guid_and_delays_reorder(start_lab: StartLab) -> None:
    lab = await start_lab(delivery=DeliveryFaults(duplicate_share=0.5, max_delay=0.3, seed=9))
    for n in range(20):
        await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": f"c{n}"}, token="pat-alice")
    assert await lab.github.sim.hub.drain()
    guids = [r.headers["X-GitHub-Delivery"] for r in lab.sink.received]
    assert len(guids) > 20 and len(set(guids)) == 20  # duplicates are redeliveries of the same delivery
    bodies = [r.payload["comment"]["body"] for r in lab.sink.received]
    first_seen = list(dict.fromkeys(bodies))
    assert first_seen != [f"c{n}" for n in range(20)]  # arrival order differs from creation order


async def test_a_failing_endpoint_does_not_block_the_simulation(start_lab: StartLab) -> None:
    lab = await start_lab()
    lab.sink.status = 500
    lab.github.set_webhook_url("http://127.0.0.1:9/unreachable")
    for n in range(10):
        status, _ = await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": f"c{n}"})
        assert status == 201
    assert await lab.github.sim.hub.drain()
    delivered = lab.truth.events("webhook_delivered")
    assert len(delivered) == 10 and all(e.fields["status"] is None for e in delivered)


def test_truth_lines_from_several_processes_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "lab-truth.jsonl"
    script = (
        "import sys; from pathlib import Path; from lab.truth import Truth\n"
        "t = Truth(Path(sys.argv[1]))\n"
        "for n in range(200): t.record('tick', writer=sys.argv[2], n=n, pad='x' * 300)\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(path), str(w)]) for w in range(4)]
    for writer in writers:
        assert writer.wait(timeout=60) == 0
    events = Truth(path).events("tick")
    assert len(events) == 800
    assert {(e.fields["writer"], e.fields["n"]) for e in events} == {(str(w), n) for w in range(4) for n in range(200)}
    assert all(e.at.tzinfo is not None for e in events)
    raw = path.read_text().splitlines()[0]
    assert raw.startswith('{"at":"') and raw[7 + 23] == "Z"  # 2026-11-27T10:00:00.123Z
