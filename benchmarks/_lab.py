"""What the lab-based benchmarks share: one verification on a running lab + `verify-staging serve` (through the
end-to-end harness), the simulated GitHub's log of the requests it answered, and lab-truth.jsonl."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from bot.model import Verification
from tests.e2e.harness import Verdict, World, running_world
from tests.support.wait import wait_for

SETTLE_S = 2.0  # the bot has finished reporting once it has sent nothing for this long
SETTLE_TIMEOUT_S = 30.0


def classify(method: str, route: str) -> str:
    """Which part of the bot a REST request serves, from GitHub's path template."""
    if route.startswith("/app") or route.endswith("/installation"):
        return "token"
    if "/check-runs" in route:
        return "check runs"
    if route.endswith("/issues/{number}/comments") or route.endswith("/issues/comments/{comment_id}"):
        return "comment"
    if route.endswith(("/reactions", "/permission", "/pulls/{number}")) or "/teams/" in route or "/contents/" in route:
        return "command"
    if method == "GET" and route.endswith(("/workflows/{workflow}/runs", "/runs/{run_id}/jobs")):
        # Only the correlator's reconciliation lists runs or jobs; it also reads the run (counted in reconcile_polls).
        return "reconciliation"
    if route.endswith("/actions/runners"):
        return "runners"
    return "engine"


@dataclass
class Request:
    at: float
    method: str
    route: str
    status: int
    kind: str

    @property
    def part(self) -> str:
        return classify(self.method, self.route)


def lab_requests(world: World, *, since: float = 0.0, until: float = float("inf")) -> list[Request]:
    """The requests the App made (installation token or App JWT), as the simulated GitHub logged them."""
    url = str(world.state["github_api_url"]).rstrip("/") + "/_lab/requests"
    answer = requests.get(url, timeout=10)
    answer.raise_for_status()
    found = [Request(**r) for r in answer.json()]
    return [r for r in found if r.kind in ("installation", "app") and since <= r.at <= until]


def settled(world: World, *, since: float) -> float:
    """Waits (bounded) until the App has sent only runner polls for `SETTLE_S`; returns its last other request."""

    def quiet() -> float | None:
        last = max((r.at for r in lab_requests(world, since=since) if r.part != "runners"), default=since)
        return last if time.time() - last >= SETTLE_S else None

    return wait_for(quiet, timeout=SETTLE_TIMEOUT_S, what="the bot to stop reporting", interval=0.5)


@dataclass
class Run:
    """One verification: when the comment went out, when the bot was done, what it reported and what it sent."""

    commented_at: float
    finished_at: float
    verdict: Verdict
    verification: Verification
    requests: list[Request]
    truth: list[dict[str, Any]]

    def parts(self) -> Counter[str]:
        """Requests by part; each reconciliation's run read moves from `engine` to `reconciliation`."""
        parts = Counter(r.part for r in self.requests)
        moved = min(self.reconcile_polls(), parts["engine"])
        parts["engine"] -= moved
        parts["reconciliation"] += moved
        return parts

    def scenario_at(self, at: float) -> str | None:
        """The scenario the bot was running at wall-clock time `at`."""
        for result in self.verification.scenarios:
            end = result.completed_at.timestamp() if result.completed_at else float("inf")
            if result.started_at is not None and result.started_at.timestamp() <= at <= end:
                return result.id.value
        return None

    def routes(self) -> Counter[str]:
        return Counter(f"{r.method} {r.route}" for r in self.requests)

    def reconcile_polls(self) -> int:
        """Reconciliations: each lists the run's jobs (after listing runs when the run id is not yet known)."""
        routes = self.routes()
        jobs = sum(n for k, n in routes.items() if k.startswith("GET") and k.endswith("/runs/{run_id}/jobs"))
        lists = sum(n for k, n in routes.items() if k.startswith("GET") and k.endswith("/workflows/{workflow}/runs"))
        return max(jobs, lists)


def command(scenarios: str = "") -> str:
    """The comment that starts a verification of `scenarios` (comma-separated ids; empty: all five)."""
    return " ".join(["/verify-staging", *(s.strip() for s in scenarios.split(",") if s.strip())])


def one_verification(world: World, text: str = "/verify-staging") -> Run:
    before = max((int(r["id"]) for r in world.check_runs()), default=0)
    commented_at = time.time()
    world.comment(text)
    verdict = world.wait_verdict(after_id=before)
    finished_at = settled(world, since=commented_at)
    verification = wait_for(world.latest_verification, timeout=10, what="the bot's record of the verification")
    return Run(
        commented_at=commented_at,
        finished_at=finished_at,
        verdict=verdict,
        verification=verification,
        requests=lab_requests(world, since=commented_at, until=finished_at),
        truth=world.truth(),
    )


def truth_time(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["at"]).replace("Z", "+00:00")).timestamp()


__all__ = ["Run", "classify", "command", "lab_requests", "one_verification", "running_world", "truth_time"]
