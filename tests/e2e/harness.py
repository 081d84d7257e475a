"""End-to-end harness: the lab (`python -m lab`) and the bot (`verify-staging serve`) as real processes, and the
views a user has of them: the simulated GitHub's REST as a lab user, JIRA's REST v2, the bot's /metrics and
lab-truth.jsonl.

    with running_world(tmp_path, faults=("no-rollback",)) as world:
        result = world.verify("/verify-staging rollback")
        assert result.scenario("rollback")["conclusion"] == "failure"

Every wait is bounded and every process started here is stopped when the `with` block ends, also on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from bot.history import MeasurementPoint
from bot.model import Verification
from bot.runtime.demo import bot_environment
from bot.store import Store
from tests.support.ports import reserve_port
from tests.support.processes import LaunchedLab, launch_lab
from tests.support.wait import wait_for

LAB_START_TIMEOUT = 90.0  # ~10 s alone; two CPUs shared with other lab runs need headroom
BOT_START_TIMEOUT = 30.0
VERIFICATION_TIMEOUT = 240.0  # all five scenarios take ~30 s in lab time
OVERALL_CHECK = "verify-staging"
SCENARIO_CHECK = "verify-staging / {scenario}"
REST_ATTEMPTS = 8  # github-flaky: 10 % of calls answer 502, one 403 with Retry-After a minute


@dataclass(frozen=True)
class Verdict:
    """What a user sees once a verification has finished: the check runs it created (newest first)."""

    check_runs: list[dict[str, Any]]

    @property
    def overall(self) -> dict[str, Any]:
        return self.check_run(OVERALL_CHECK)

    def check_run(self, name: str) -> dict[str, Any]:
        return next(r for r in self.check_runs if r["name"] == name)

    def scenario(self, scenario: str) -> dict[str, Any]:
        """The scenario's check run (`conclusion`, `output.summary`, `output.text`)."""
        return self.check_run(SCENARIO_CHECK.format(scenario=scenario))

    def conclusions(self) -> dict[str, str | None]:
        """Scenario id -> its check run's conclusion, for the scenarios this verification ran."""
        prefix = SCENARIO_CHECK.format(scenario="")
        return {r["name"][len(prefix) :]: r["conclusion"] for r in self.check_runs if r["name"].startswith(prefix)}


class World:
    """A running lab and bot. Construct through `running_world`."""

    def __init__(self, workdir: Path, faults: Sequence[str], topology: Path | None = None) -> None:
        self.workdir = workdir
        self.faults = tuple(faults)
        self.topology = topology
        # Held until stop(): the lab delivers to this port from its start, and the bot (`serve --reuse-port`)
        # binds it beside the reservation, on every restart, without another process taking it in between.
        self.reservation = reserve_port()
        self.port = self.reservation.port
        self.state_file = workdir / "lab-state.json"
        self.lab_log = workdir / "lab.log"
        self.bot_log = workdir / "bot.log"
        self.launched: LaunchedLab | None = None
        self.bot: subprocess.Popen[bytes] | None = None
        self.state: dict[str, Any] = {}
        self.lab_start_s = 0.0
        #: Wall-clock time the bot first answered /healthz (the lab's Prometheus scrapes its address from before).
        self.bot_up_at: float | None = None
        #: The bot's DATABASE_URL when its replicas share PostgreSQL (tests/e2e/replicas.py); else its SQLite file.
        self.database_url: str | None = None

    # -- processes ------------------------------------------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lab(self) -> subprocess.Popen[bytes] | None:
        return self.launched.proc if self.launched is not None else None

    def start_lab(self) -> None:
        # --record-answers: every GitHub answer the bot got, for the check against GitHub's documented schemas.
        args = ["--webhook-url", self.webhook_url, "--workdir", str(self.workdir / "lab"), "--record-answers"]
        for fault in self.faults:
            args += ["--fault", fault]
        if self.topology is not None:
            args += ["--topology", str(self.topology)]
        began = time.monotonic()
        self.launched = launch_lab(args, state_file=self.state_file, log=self.lab_log, timeout=LAB_START_TIMEOUT)
        self.state = self.launched.state
        self.lab_start_s = time.monotonic() - began

    def bot_environment(self) -> dict[str, str]:
        """The contract's secrets for `serve`, taken from the lab's state file."""
        secrets = bot_environment(self.state)
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV")}
        return {**keep, **secrets}

    def start_bot(self) -> None:
        """`verify-staging serve` on the port the lab delivers to (same database on every start); waits for /healthz."""
        argv = [sys.executable, "-m", "bot", "serve", "--settings", str(self.state["settings_path"])]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--reuse-port"]
        with self.bot_log.open("ab") as log:
            self.bot = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.bot_environment())
        bot = self.bot

        def healthy() -> bool:
            if bot.poll() is not None:
                raise AssertionError(f"the bot exited {bot.returncode}: {self.bot_log.read_text()[-2000:]}")
            with contextlib.suppress(requests.RequestException):
                return requests.get(self.bot_url + "/healthz", timeout=2).status_code == 200
            return False

        wait_for(healthy, timeout=BOT_START_TIMEOUT, what="the bot's /healthz")
        self.bot_up_at = self.bot_up_at or time.time()

    def kill_bot(self) -> None:
        """SIGKILL: the bot gets no chance to clean up (its undo journal must)."""
        if self.bot is not None and self.bot.poll() is None:
            self.bot.kill()
            self.bot.wait(timeout=10)

    def restart_bot(self) -> None:
        self.kill_bot()
        self.start_bot()

    def stop(self) -> None:
        """Stops the bot, then the lab (SIGTERM stops every process the lab started; SIGKILL after 30 s)."""
        if self.bot is not None and self.bot.poll() is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                self.bot.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_bot()
        if self.launched is not None:
            self.launched.stop(signal.SIGTERM, timeout=30)
        self.reservation.release()

    # -- GitHub as a lab user ---------------------------------------------------------------------------------

    @property
    def repository(self) -> str:
        return str(self.state["repository"])

    @property
    def pull_number(self) -> int:
        return int(self.state["pull_request"]["number"])

    @property
    def head_sha(self) -> str:
        return str(self.state["pull_request"]["head_sha"])

    def gh(self, method: str, path: str, *, user: str | None = None, body: object = None) -> requests.Response:
        """One REST call to the simulated GitHub as a lab user (default: the authorized user), retried on 502 and
        rate limits as any client must be under `github-flaky`."""
        login = user or str(self.state["authorized_user"])
        headers = {
            "Authorization": f"token {self.state['user_tokens'][login]}",
            "Accept": "application/vnd.github+json",
        }
        url = str(self.state["github_api_url"]).rstrip("/") + path
        for _ in range(REST_ATTEMPTS):
            response = requests.request(method, url, headers=headers, json=body, timeout=15)
            limited = response.status_code in (403, 429) and "Retry-After" in response.headers
            if response.status_code < 500 and not limited:
                return response
            time.sleep(min(float(response.headers.get("Retry-After", "0.5")), 5.0))
        return response

    def gh_json(self, method: str, path: str, *, user: str | None = None, body: object = None) -> Any:
        response = self.gh(method, path, user=user, body=body)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def comment(self, text: str, *, user: str | None = None) -> dict[str, Any]:
        """Posts an issue comment on the lab pull request; the bot receives it as that user's `issue_comment`."""
        path = f"/repos/{self.repository}/issues/{self.pull_number}/comments"
        created: dict[str, Any] = self.gh_json("POST", path, user=user, body={"body": text})
        return created

    def check_runs(self) -> list[dict[str, Any]]:
        """Every check run on the PR head, newest first."""
        path = f"/repos/{self.repository}/commits/{self.head_sha}/check-runs?per_page=100"
        runs: list[dict[str, Any]] = self.gh_json("GET", path)["check_runs"]
        return sorted(runs, key=lambda r: int(r["id"]), reverse=True)

    def issue_comments(self) -> list[dict[str, Any]]:
        path = f"/repos/{self.repository}/issues/{self.pull_number}/comments?per_page=100"
        comments: list[dict[str, Any]] = self.gh_json("GET", path)
        return comments

    def bot_comments(self, *, since_id: int = 0) -> list[dict[str, Any]]:
        """The App's comments on the pull request (author type `Bot`), oldest first."""
        return [c for c in self.issue_comments() if c["user"]["type"] == "Bot" and int(c["id"]) > since_id]

    def issues(self, *, label: str | None = None) -> list[dict[str, Any]]:
        query = f"?state=all&per_page=100{f'&labels={label}' if label else ''}"
        found: list[dict[str, Any]] = self.gh_json("GET", f"/repos/{self.repository}/issues{query}")
        return [i for i in found if "pull_request" not in i]

    def runners(self) -> dict[str, dict[str, Any]]:
        """Self-hosted runners by name, as the runners API lists them."""
        data = self.gh_json("GET", f"/repos/{self.repository}/actions/runners")
        return {str(r["name"]): r for r in data["runners"]}

    def verify(self, text: str = "/verify-staging", *, user: str | None = None) -> Verdict:
        """Posts `text` and waits until the overall check run this comment started is completed."""
        before = max((int(r["id"]) for r in self.check_runs()), default=0)
        self.comment(text, user=user)
        return self.wait_verdict(after_id=before)

    def wait_verdict(self, *, after_id: int, timeout: float = VERIFICATION_TIMEOUT) -> Verdict:
        """Waits until a new overall check run (id > `after_id`) is completed; returns the new check runs."""

        def done() -> Verdict | None:
            new = [r for r in self.check_runs() if int(r["id"]) > after_id]
            overall = [r for r in new if r["name"] == OVERALL_CHECK]
            return Verdict(new) if overall and overall[0]["status"] == "completed" else None

        return wait_for(done, timeout=timeout, what="the overall verify-staging check run to complete", interval=0.5)

    # -- JIRA, the bot, the truth -------------------------------------------------------------------------------

    def jira(self, path: str) -> Any:
        """GET on the JIRA stand-in's REST v2 (bearer token), e.g. `/issue/INFRA-473/comment`."""
        url = str(self.state["jira_url"]).rstrip("/") + "/rest/api/2" + path
        response = requests.get(url, headers={"Authorization": f"Bearer {self.state['jira_token']}"}, timeout=10)
        assert response.status_code == 200, f"JIRA {path}: {response.status_code}"
        return response.json()

    def jira_status(self) -> str:
        return str(self.jira(f"/issue/{self.state['jira_issue']}")["fields"]["status"]["name"])

    def jira_comments(self) -> list[str]:
        return [str(c["body"]) for c in self.jira(f"/issue/{self.state['jira_issue']}/comment")["comments"]]

    def metrics(self) -> str:
        response = requests.get(self.bot_url + "/metrics", timeout=10)
        assert response.status_code == 200
        return response.text

    def truth(self) -> list[dict[str, Any]]:
        """lab-truth.jsonl, one dict an event, in order."""
        return json_lines(Path(str(self.state["truth_log"])))

    def github_answers(self) -> list[dict[str, Any]]:
        """Every answer of the simulated GitHub so far (`--record-answers`), one dict each, in order."""
        return json_lines(Path(str(self.state["github_answers"])))

    def wait_event(self, event: str, *, since: int, what: str, timeout: float = 60, **fields: object) -> dict[str, Any]:
        """The first lab truth event of this kind (with these fields) after entry `since`, waited for."""

        def found() -> dict[str, Any] | None:
            events = self.truth()[since:]
            return next(
                (e for e in events if e["event"] == event and all(e.get(k) == v for k, v in fields.items())), None
            )

        return wait_for(found, timeout=timeout, what=what)

    def wait_runners_online(self, *, timeout: float = 30) -> None:
        wait_for(
            lambda: all(r["status"] == "online" for r in self.runners().values()) or None,
            timeout=timeout,
            what="both runners online again",
        )

    def database(self) -> Path:
        settings = yaml.safe_load(Path(str(self.state["settings_path"])).read_text(encoding="utf-8"))
        path = Path(str(settings["database"]))
        return path if path.is_absolute() else Path(str(self.state["settings_path"])).parent / path

    def latest_verification(self) -> Verification | None:
        """The bot's own record of the PR's latest verification (its store), the source of verification.json."""

        async def read() -> Verification | None:
            store = await Store.open(self.database_url or str(self.database()))
            try:
                return await store.latest_verification(repository=self.repository, pull_request=self.pull_number)
            finally:
                await store.close()

        return asyncio.run(read())

    def measurement_history(self, environment: str) -> list[MeasurementPoint]:
        """Issue 15 §2: the measurements the bot's store keeps for the environment's latest verifications."""

        async def read() -> list[MeasurementPoint]:
            store = await Store.open(self.database_url or str(self.database()))
            try:
                return await store.measurement_points(environment=environment, limit=30)
            finally:
                await store.close()

        return asyncio.run(read())


@contextlib.contextmanager
def running_world(
    workdir: Path, *, faults: Sequence[str] = (), bot: bool = True, topology: Path | None = None
) -> Iterator[World]:
    """Starts the lab with `faults` (and another `topology` file) and, unless `bot=False`, the bot; stops both
    when the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    world = World(workdir, faults, topology)
    try:
        world.start_lab()
        if bot:
            world.start_bot()
        yield world
        # Every run holds its requests to GitHub's OpenAPI description; the lab answered any other one 422.
        undocumented = [e for e in world.truth() if e["event"] == "undocumented_request"]
        assert undocumented == [], f"requests GitHub does not document: {undocumented}"
    finally:
        world.stop()


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def restarted_the_runner_it_stopped(events: Sequence[dict[str, Any]]) -> bool:
    """Whether the first runner stopped in these lab truth events was started again."""
    stopped = next(e for e in events if e["event"] == "runner_stopped")
    return any(e["event"] == "runner_started" and e["runner"] == stopped["runner"] for e in events)
