"""Scheduled verifications on the lab (issue 15): with a schedule of every minute (failover only), a verification of
the default branch's head starts within a minute of its due time, completes and reports on the environment's tracking
issue; a restart of `serve` (SIGKILL) starts no second verification for a due time that already ran. Staging then
drifts between scheduled runs: the lab's smaller failover slowdown, turned on while the lab runs, makes the next one
pass but be flagged "regressed" against the first one's baseline; `slow-failover` makes the one after fail. Each
appears in `/verifications.json` with its measurements and in `/metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.model import ScenarioId, Verification, VerificationConclusion
from bot.store import ScheduleRun, Store
from bot.texts import reports as report_texts
from bot.texts import schedule as texts
from tests.e2e.harness import BOT_START_TIMEOUT, VERIFICATION_TIMEOUT, World, running_world
from tests.support.wait import wait_for

T = TypeVar("T")
pytestmark = [pytest.mark.lab, pytest.mark.long]

#: A due time is at most a minute away, plus the bot's start-up.
FIRST_DUE_TIMEOUT = 90.0


def from_store(world: World, read: Callable[[Store], Awaitable[T]]) -> T:
    """What `read` finds in the bot's store (opened beside the running bot: SQLite in WAL mode)."""

    async def opened() -> T:
        store = await Store.open(str(world.database()))
        try:
            return await read(store)
        finally:
            await store.close()

    return asyncio.run(opened())


def schedule_runs(world: World, environment: str) -> list[ScheduleRun]:
    return from_store(world, lambda store: store.schedule_runs(environment))


def scheduled_verifications(world: World) -> list[str]:
    """The ids of every verification the bot recorded for no pull request (pull request 0: scheduled)."""
    return from_store(world, lambda store: store.verification_ids(repository=world.repository, pull_request=0))


#: The lab answers once every part the fault changes has taken it.
TOGGLE_TIMEOUT = 60.0
LATENCY = "failover_latency_s"


def schedule_failover(world: World) -> str:
    """Every minute, failover only; a baseline from one passing run; the history list open (it is the lab's own
    bot). Returns the environment's name."""
    path = Path(str(world.state["settings_path"]))
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    repository = next(r for r in raw["github"]["repositories"] if r.lower() == world.repository.lower())
    environment = str(raw["github"]["repositories"][repository]["environment"])
    env = raw["environments"][environment]
    env["schedule"] = {"cron": "* * * * *", "repository": repository, "scenarios": ["failover"]}
    env["regressions"] = {"ratio": 0.5, "seconds": 5, "runs": 10, "min_runs": 1}
    raw.setdefault("server", {}).update({"public_url": "https://verify-staging.example.test", "history_public": True})
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return environment


def set_slow_failover(world: World, seconds: float | None) -> None:
    body: dict[str, Any] = {"fault": "slow-failover", "on": True}
    if seconds is not None:
        body["seconds"] = seconds
    answer = requests.post(str(world.state["github_api_url"]) + "/_lab/faults", json=body, timeout=TOGGLE_TIMEOUT)
    assert answer.status_code == 200, answer.text


def next_scheduled(world: World, seen: list[str]) -> Verification:
    """The next scheduled verification after those `seen`, once it has completed."""

    def completed() -> Verification | None:
        fresh = [v for v in scheduled_verifications(world) if v not in seen]
        if not fresh:
            return None
        found = from_store(world, lambda store: store.load_verification(fresh[0]))
        return found if found is not None and found.completed_at is not None else None

    verification: Verification = wait_for(
        completed,
        timeout=FIRST_DUE_TIMEOUT + VERIFICATION_TIMEOUT,
        what="the next scheduled verification to complete",
        interval=1.0,
    )
    seen.append(verification.verification_id)
    return verification


def listed_with(world: World, environment: str, ids: list[str]) -> dict[str, Any] | None:
    """The environment's entry in `/verifications.json` once it lists every one of `ids`."""
    answer = requests.get(world.bot_url + "/verifications.json", timeout=10)
    assert answer.status_code == 200, answer.text
    for entry in answer.json()["environments"]:
        if entry["environment"] == environment and set(ids) <= {v["verification_id"] for v in entry["verifications"]}:
            found: dict[str, Any] = entry
            return found
    return None


def with_gauge(text: str, name: str, **labels: str) -> str | None:
    """The metrics text once it has the gauge."""
    return text if gauge(text, name, **labels) is not None else None


def gauge(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def check_first_run(world: World, environment: str, verification: Verification) -> None:
    """It started within a minute of the due time it claimed, and reported on the tracking issue."""
    first = next(r for r in schedule_runs(world, environment) if r.verification_id == verification.verification_id)
    assert first.outcome == "started"
    assert 0 <= (verification.started_at - first.due_at).total_seconds() < 60
    assert verification.conclusion is VerificationConclusion.SUCCESS
    [issue] = [
        i
        for i in world.issues(label=texts.TRACKING_LABEL)
        if i["title"] == texts.TRACKING_TITLE.format(environment=environment)
    ]
    [comment] = wait_for(
        lambda: [c for c in comments_of(world, issue["number"]) if verification.verification_id in c["body"]
                 and report_texts.VERIFICATION_HEADLINE[VerificationConclusion.SUCCESS] in c["body"]],
        timeout=30,
        what="the tracking issue's comment with the verdict",
    )  # fmt: skip
    assert comment["user"]["type"] == "Bot", comment


def comments_of(world: World, issue: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = world.gh_json(
        "GET", f"/repos/{world.repository}/issues/{issue}/comments?per_page=100"
    )
    return found


def restart_without_repeats(world: World, environment: str) -> None:
    """SIGKILL and start `serve` again; once its scheduler has caught up (it logs "schedule ready"), every due time
    started at most one verification, and every verification of no pull request had a due time of its own."""
    world.restart_bot()
    wait_for(
        lambda: (
            schedule_ready_lines(world) == 2 and all(r.outcome != "claimed" for r in schedule_runs(world, environment))
        ),
        timeout=BOT_START_TIMEOUT,
        what="the restarted bot's scheduler to catch up",
        interval=0.5,
    )
    started = [r.verification_id for r in schedule_runs(world, environment) if r.outcome == "started"]
    assert len(set(started)) == len(started)
    assert set(scheduled_verifications(world)) == set(started)
    # Skips are counted per environment and reason, from the start (zero until one happens).
    assert f'verify_staging_schedule_skips_total{{environment="{environment}",reason="running"}}' in world.metrics()


def test_scheduled_runs_report_survive_a_restart_and_show_drift_as_regressed_then_failed(tmp_path: Path) -> None:
    with running_world(tmp_path, bot=False) as world:
        environment = schedule_failover(world)
        world.start_bot()
        seen: list[str] = []

        baseline = next_scheduled(world, seen)
        first = baseline.scenario(ScenarioId.FAILOVER)
        assert first.conclusion is not None and first.conclusion.value == "passed", first.reason
        assert first.regressions == []
        check_first_run(world, environment, baseline)

        # A smaller slowdown: failover still within its threshold, but clearly slower than the baseline. Then a
        # restart (SIGKILL: no clean shutdown), which must not run a due time that already ran.
        set_slow_failover(world, float(world.state["regressed_failover_seconds"]))
        restart_without_repeats(world, environment)
        regressed = next_scheduled(world, seen).scenario(ScenarioId.FAILOVER)
        assert regressed.conclusion is not None and regressed.conclusion.value == "passed", regressed.reason
        [flag] = regressed.regressions
        assert flag.measurement == LATENCY
        assert flag.baseline == first.measurements[LATENCY]
        assert flag.value == regressed.measurements[LATENCY]
        assert flag.value > flag.baseline + 5

        # The full slowdown: failover over its threshold.
        set_slow_failover(world, None)
        failed = next_scheduled(world, seen).scenario(ScenarioId.FAILOVER)
        assert failed.conclusion is not None and failed.conclusion.value == "failed", failed.reason
        assert "failover-latency" in {c.id for c in failed.criteria if c.passed is False}

        # The history and the metrics hear of a verification after its check runs and store record: a moment later.
        listed = wait_for(lambda: listed_with(world, environment, seen), timeout=30, what="the history to list all")
        verdicts = {"environment": environment, "trigger": "schedule", "conclusion": "failure"}
        metrics = wait_for(
            lambda: with_gauge(world.metrics(), "verify_staging_verification_last_timestamp_seconds", **verdicts),
            timeout=30,
            what="the failed scheduled verification on /metrics",
        )

    [trend] = [t for t in listed["trends"] if (t["scenario"], t["measurement"]) == ("failover", LATENCY)]
    points = {p["verification_id"]: p for p in trend["points"]}
    assert [points[v]["regressed"] for v in seen] == [False, True, False]
    assert points[seen[2]]["value"] == failed.measurements[LATENCY] and not points[seen[2]]["passed"]
    latency = {"environment": environment, "scenario": "failover", "measurement": LATENCY}
    assert gauge(metrics, "verify_staging_measurement_seconds", **latency) == failed.measurements[LATENCY]


def schedule_ready_lines(world: World) -> int:
    return sum(1 for line in world.bot_log.read_text(encoding="utf-8").splitlines() if '"schedule ready"' in line)
