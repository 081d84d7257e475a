"""Scheduled verifications on the lab (issue 15 §1): with a schedule of every minute, a verification of the default
branch's head starts within a minute of its due time, completes, and reports on the environment's tracking issue; a
restart of `serve` (SIGKILL) starts no second verification for a due time that already ran."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bot.model import VerificationConclusion
from bot.reporting import parse_external_id
from bot.store import ScheduleRun, Store
from bot.texts import reports as report_texts
from bot.texts import schedule as texts
from tests.e2e.harness import BOT_START_TIMEOUT, OVERALL_CHECK, VERIFICATION_TIMEOUT, World, running_world
from tests.support.wait import wait_for

T = TypeVar("T")

#: A due time is at most a minute away, plus the bot's start-up.
FIRST_DUE_TIMEOUT = 90.0


def add_schedule(world: World) -> str:
    """Every minute, normal-deploy only, on the default branch: written into the settings `serve` reads. Returns
    the environment's name."""
    path = Path(str(world.state["settings_path"]))
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    repository = next(r for r in raw["github"]["repositories"] if r.lower() == world.repository.lower())
    environment = str(raw["github"]["repositories"][repository]["environment"])
    raw["environments"][environment]["schedule"] = {
        "cron": "* * * * *",
        "repository": repository,
        "scenarios": ["normal-deploy"],
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return environment


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


def started_at(world: World, verification_id: str) -> datetime:
    verification = from_store(world, lambda store: store.load_verification(verification_id))
    assert verification is not None
    return verification.started_at


def scheduled_verifications(world: World) -> list[str]:
    """The ids of every verification the bot recorded for no pull request (pull request 0: scheduled)."""
    return from_store(world, lambda store: store.verification_ids(repository=world.repository, pull_request=0))


def overall_check_runs(world: World, sha: str) -> list[dict[str, Any]]:
    runs = world.gh_json("GET", f"/repos/{world.repository}/commits/{sha}/check-runs?per_page=100")["check_runs"]
    return [r for r in runs if r["name"] == OVERALL_CHECK]


def test_a_scheduled_verification_runs_reports_on_the_tracking_issue_and_a_restart_does_not_repeat_it(
    tmp_path: Path,
) -> None:
    with running_world(tmp_path, bot=False) as world:
        environment = add_schedule(world)
        main = world.gh_json("GET", f"/repos/{world.repository}/branches/main")["commit"]["sha"]
        world.start_bot()

        overall = wait_for(
            lambda: [r for r in overall_check_runs(world, main) if r["status"] == "completed"],
            timeout=FIRST_DUE_TIMEOUT + VERIFICATION_TIMEOUT,
            what="a scheduled verification of main to complete",
            interval=1.0,
        )[0]
        verification_id, _ = parse_external_id(overall["external_id"])
        assert overall["conclusion"] == "success", overall["output"]

        # It started within a minute of the due time it claimed.
        first = next(r for r in schedule_runs(world, environment) if r.verification_id == verification_id)
        assert first.outcome == "started"
        assert 0 <= (started_at(world, verification_id) - first.due_at).total_seconds() < 60

        # The tracking issue, with the verification's comment showing the verdict.
        [issue] = [
            i
            for i in world.issues(label=texts.TRACKING_LABEL)
            if i["title"] == texts.TRACKING_TITLE.format(environment=environment)
        ]
        comments = world.gh_json("GET", f"/repos/{world.repository}/issues/{issue['number']}/comments?per_page=100")
        [comment] = [c for c in comments if verification_id in c["body"]]
        assert comment["user"]["type"] == "Bot"
        assert report_texts.VERIFICATION_HEADLINE[VerificationConclusion.SUCCESS] in comment["body"]

        # A restart (SIGKILL: no clean shutdown) must not run a due time that already ran. The restarted scheduler
        # logs "schedule ready" once its catch-up (where a repeat would start) is over.
        world.restart_bot()
        wait_for(
            lambda: (
                schedule_ready_lines(world) == 2
                and all(r.outcome != "claimed" for r in schedule_runs(world, environment))
            ),
            timeout=BOT_START_TIMEOUT,
            what="the restarted bot's scheduler to catch up",
            interval=0.5,
        )
        runs = schedule_runs(world, environment)
        started = [r.verification_id for r in runs if r.outcome == "started"]
        assert len(set(started)) == len(started) and verification_id in started
        # Every verification of no pull request the bot ever began was started by a due time of its own.
        assert set(scheduled_verifications(world)) == set(started)
        # Skips are counted per environment and reason, from the start (zero until one happens).
        assert f'verify_staging_schedule_skips_total{{environment="{environment}",reason="running"}}' in world.metrics()


def schedule_ready_lines(world: World) -> int:
    return sum(1 for line in world.bot_log.read_text(encoding="utf-8").splitlines() if '"schedule ready"' in line)
