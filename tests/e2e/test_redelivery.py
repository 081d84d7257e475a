"""No webhook lost while the App is down: workflow runs that happen on the lab while `serve` is stopped are counted
by the bot once it starts again (its start-up sweep has GitHub redeliver the failed deliveries), and a redelivered
delivery is never processed twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.github.transport import app_jwt
from tests.e2e.harness import BOT_START_TIMEOUT, World, running_world
from tests.support.wait import wait_for

SWEEP_INTERVAL = 3  # seconds between sweeps in this test, so a second and third sweep come soon
RUN_TIMEOUT = 120.0  # a lab deploy run takes ~10 s alone; two CPUs shared with other lab runs need headroom


def samples(world: World, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The bot's /metrics samples of one metric, by their labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(world.metrics()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def jobs_counted(world: World) -> Counter[tuple[str, str]]:
    """verify_staging_workflow_jobs_total summed by (job, conclusion)."""
    counted: Counter[tuple[str, str]] = Counter()
    for labels, value in samples(world, "verify_staging_workflow_jobs_total").items():
        named = dict(labels)
        counted[(named["job"], named["conclusion"])] += int(value)
    return +counted


def deliveries(world: World, outcome: str) -> int:
    return int(
        sum(
            v
            for labels, v in samples(world, "verify_staging_webhook_deliveries_total").items()
            if dict(labels)["outcome"] == outcome
        )
    )


def sweeps(world: World) -> int:
    return int(samples(world, "verify_staging_redelivery_sweeps_total").get((("outcome", "ok"),), 0))


def dispatch_deploy(world: World) -> int:
    """Runs the deployment workflow as the lab's authorized user (what a person's workflow_dispatch does)."""
    settings = yaml.safe_load(Path(str(world.state["settings_path"])).read_text(encoding="utf-8"))
    environment, env = next(iter(settings["environments"].items()))
    head = world.gh_json("GET", f"/repos/{world.repository}/pulls/{world.pull_number}")["head"]["ref"]
    body = {
        "ref": head,
        "inputs": {"environment": environment, "test_id": "while-the-bot-was-down"},
        "return_run_details": True,
    }
    path = f"/repos/{world.repository}/actions/workflows/{env['workflow']['file']}/dispatches"
    return int(world.gh_json("POST", path, body=body)["workflow_run_id"])


def app_call(world: World, method: str, path: str) -> requests.Response:
    """A REST call as the App itself (its JWT), as the delivery log requires."""
    key = Path(str(world.state["app_private_key_path"])).read_text(encoding="utf-8")
    token = app_jwt(app_id=str(world.state["app_id"]), private_key=key)
    url = str(world.state["github_api_url"]).rstrip("/") + path
    return requests.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=15)


@pytest.mark.lab
def test_runs_while_the_bot_is_down_are_counted_after_it_starts_and_never_twice(tmp_path: Path) -> None:
    with running_world(tmp_path, bot=False) as world:
        settings_path = Path(str(world.state["settings_path"]))
        settings: dict[str, Any] = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
        settings["github"]["redelivery_interval"] = SWEEP_INTERVAL
        settings_path.write_text(yaml.safe_dump(settings), encoding="utf-8")

        # ---- the bot is down: a deployment runs, and every webhook about it fails to arrive ----
        run_id = dispatch_deploy(world)
        wait_for(
            lambda: world.gh_json("GET", f"/repos/{world.repository}/actions/runs/{run_id}")["status"] == "completed",
            timeout=RUN_TIMEOUT,
            what=f"run {run_id} to complete",
        )
        truth = world.truth()
        expected = Counter(
            (e["job"], e["conclusion"]) for e in truth if e["event"] == "job_completed" and e["run_id"] == run_id
        )
        assert expected, "the run completed no job"
        job_guids = wait_for(
            lambda: (
                failed_job_deliveries(world) if len(failed_job_deliveries(world)) >= sum(expected.values()) else None
            ),
            timeout=30,
            what="the workflow_job completed deliveries to fail",
        )

        # ---- the bot starts: its start-up sweep has every failed delivery redelivered ----
        world.start_bot()
        wait_for(
            lambda: jobs_counted(world) == expected or None,
            timeout=BOT_START_TIMEOUT + 60,
            what=f"the bot's job counts to reach the lab's truth {dict(expected)} (now {dict(jobs_counted(world))})",
        )
        requested = {e["delivery"] for e in world.truth() if e["event"] == "webhook_redelivery_requested"}
        assert job_guids <= requested

        # ---- later sweeps redeliver nothing more, and a redelivery GitHub makes anyway is a duplicate ----
        accepted = deliveries(world, "accepted")
        first_sweeps = sweeps(world)
        wait_for(lambda: sweeps(world) >= first_sweeps + 2 or None, timeout=60, what="two more redelivery sweeps")
        assert jobs_counted(world) == expected
        assert deliveries(world, "accepted") == accepted
        assert {e["delivery"] for e in world.truth() if e["event"] == "webhook_redelivery_requested"} == requested

        listed = app_call(world, "GET", "/app/hook/deliveries?per_page=100").json()
        processed = next(d for d in listed if d["guid"] in job_guids and d["redelivery"])
        duplicates = deliveries(world, "duplicate")
        assert app_call(world, "POST", f"/app/hook/deliveries/{processed['id']}/attempts").status_code == 202
        wait_for(
            lambda: deliveries(world, "duplicate") == duplicates + 1 or None,
            timeout=30,
            what="the bot to answer the repeated redelivery as a duplicate",
        )
        assert jobs_counted(world) == expected
        assert deliveries(world, "accepted") == accepted


def failed_job_deliveries(world: World) -> set[str]:
    """GUIDs of workflow_job `completed` deliveries that no HTTP answer met (the bot was down), per the lab's truth."""
    return {
        e["delivery"]
        for e in world.truth()
        if e["event"] == "webhook_delivered"
        and e.get("webhook_event") == "workflow_job"
        and e.get("action") == "completed"
        and e.get("status") is None
    }
