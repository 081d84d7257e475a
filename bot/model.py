"""The result model of a verification: what was asked, what each scenario found, and what was restored.

`verification-report.schema.json` (shared/contracts) is its JSON face; `Verification.to_report()` produces it.
Check runs, the PR comment, JIRA comments and report.md are all rendered from these objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class ScenarioId(StrEnum):
    NORMAL_DEPLOY = "normal-deploy"
    CONCURRENCY = "concurrency"
    FAILOVER = "failover"
    ROLLBACK = "rollback"
    MONITORING = "monitoring"


#: The seed's order (T042 tests 1-5); scenarios always run in this order.
SCENARIO_ORDER: tuple[ScenarioId, ...] = tuple(ScenarioId)

SCENARIO_TITLES: dict[ScenarioId, str] = {
    ScenarioId.NORMAL_DEPLOY: "Normal deployment on the primary runner",
    ScenarioId.CONCURRENCY: "Concurrency control",
    ScenarioId.FAILOVER: "Failover to the secondary runner",
    ScenarioId.ROLLBACK: "Health check failure and rollback",
    ScenarioId.MONITORING: "Monitoring and alerts",
}


class ScenarioStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class ScenarioConclusion(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"


class VerificationConclusion(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    """What started a verification: a `/verify-staging` comment, a check run's button, or the schedule."""

    COMMENT = "comment"
    BUTTON = "button"
    SCHEDULE = "schedule"


class StepOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    ERROR = "error"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds, as every report and the lab's truth log use."""
    if ts is None:
        return None
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(value: str | None) -> datetime | None:
    """Parse GitHub's `2024-01-01T00:00:00Z` (and any RFC 3339 form) into an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class Criterion:
    """One success criterion of a scenario. `passed is None` means it could not be evaluated: never a pass."""

    id: str
    description: str
    passed: bool | None
    observed: Any = None
    threshold: Any = None
    unit: str | None = None


@dataclass
class JobRecord:
    job_id: int
    name: str
    run_id: int
    status: str | None = None
    conclusion: str | None = None
    runner_name: str | None = None
    labels: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failed_steps: list[str] = field(default_factory=list)


@dataclass
class RunRecord:
    run_id: int
    display_title: str | None = None
    status: str | None = None
    conclusion: str | None = None
    created_at: datetime | None = None
    run_started_at: datetime | None = None
    updated_at: datetime | None = None
    html_url: str | None = None
    jobs: list[JobRecord] = field(default_factory=list)
    #: The commit the run tested (GitHub's `head_sha`); None only in records stored before it was kept.
    head_sha: str | None = None


@dataclass
class Restoration:
    """A fault the bot injected and how it was undone (written to the journal before the harm was done)."""

    host: str
    fault: str
    undo: str
    ok: bool = False
    injected_at: datetime | None = None
    restored_at: datetime | None = None
    after_restart: bool = False
    error: str | None = None


@dataclass
class Step:
    """One recorded activity of a scenario (preflight, dispatch, observe, restore, ...)."""

    name: str
    started_at: datetime
    completed_at: datetime | None = None
    outcome: StepOutcome | None = None
    error: str | None = None


@dataclass
class Regression:
    """A measurement that passed its threshold yet is clearly worse than its own recent baseline (issue 15 §3)."""

    measurement: str
    value: float
    #: The median of this measurement over the environment's last passing runs.
    baseline: float
    #: How much worse, as a fraction of the baseline (0.5: 50 % worse); None when the baseline is 0.
    ratio: float | None
    #: How many passing runs the baseline is the median of.
    runs: int


@dataclass
class ScenarioResult:
    id: ScenarioId
    status: ScenarioStatus = ScenarioStatus.QUEUED
    conclusion: ScenarioConclusion | None = None
    reason: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    criteria: list[Criterion] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    measurements: dict[str, float | None] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    check_run_id: int | None = None
    #: Issue 15 §3: measurements worse than their baseline (set once the scenarios have run, before the reports).
    regressions: list[Regression] = field(default_factory=list)

    @property
    def title(self) -> str:
        return SCENARIO_TITLES[self.id]

    def failed_criteria(self) -> list[Criterion]:
        return [c for c in self.criteria if c.passed is not True]


@dataclass
class JiraReport:
    issue: str
    transitions: list[str] = field(default_factory=list)
    comment_id: str | None = None
    error: str | None = None
    #: File names attached to the issue at the end (bot/reporting/jira_attachments.py).
    attachments: list[str] = field(default_factory=list)


@dataclass
class Verification:
    verification_id: str
    installation_id: int
    repository: str
    pull_request: int
    head_sha: str
    ref: str
    environment: str
    requested_by: str
    scenarios: list[ScenarioResult]
    started_at: datetime = field(default_factory=utcnow)
    completed_at: datetime | None = None
    conclusion: VerificationConclusion | None = None
    reason: str | None = None
    github_api_calls: int = 0
    restorations: list[Restoration] = field(default_factory=list)
    jira: JiraReport | None = None
    comment_id: int | None = None
    overall_check_run_id: int | None = None
    #: The pull request's title when the verification was asked for (its author's text: escape it to show it).
    title: str | None = None
    #: What started it; a scheduled verification has no pull request (`pull_request` 0).
    trigger: Trigger = Trigger.COMMENT
    #: The issue a scheduled verification reports to (its environment's tracking issue), None for a pull request.
    tracking_issue: int | None = None

    @property
    def conversation(self) -> int | None:
        """The pull request or issue whose comments tell people about this verification (None: nowhere yet)."""
        return self.pull_request or self.tracking_issue

    def scenario(self, scenario_id: ScenarioId) -> ScenarioResult:
        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        raise KeyError(scenario_id)

    def decide_conclusion(self) -> VerificationConclusion:
        """success only when every selected scenario passed; error beats failure (we could not tell)."""
        conclusions = [s.conclusion for s in self.scenarios if s.conclusion is not ScenarioConclusion.SKIPPED]
        if any(c is ScenarioConclusion.ERROR or c is None for c in conclusions):
            return VerificationConclusion.ERROR
        if any(c is ScenarioConclusion.FAILED for c in conclusions):
            return VerificationConclusion.FAILURE
        if not conclusions:
            return VerificationConclusion.ERROR
        return VerificationConclusion.SUCCESS

    def to_report(self) -> dict[str, Any]:
        """The `verification.json` document (valid against verification-report.schema.json)."""
        report: dict[str, Any] = {
            "schema_version": 1,
            "verification_id": self.verification_id,
            "repository": self.repository,
            # A scheduled verification verifies a branch, not a pull request.
            "pull_request": self.pull_request or None,
            "head_sha": self.head_sha,
            "ref": self.ref,
            "environment": self.environment,
            "requested_by": self.requested_by,
            "started_at": iso(self.started_at),
            "completed_at": iso(self.completed_at or utcnow()),
            "conclusion": (self.conclusion or self.decide_conclusion()).value,
            "scenarios": [_scenario_json(s) for s in self.scenarios],
            "github_api_calls": self.github_api_calls,
            "restorations": [_restoration_json(r) for r in self.restorations],
        }
        report["trigger"] = self.trigger.value
        if self.tracking_issue is not None:
            report["tracking_issue"] = self.tracking_issue
        if self.jira is not None:
            report["jira"] = dataclasses.asdict(self.jira)
        return report


def _scenario_json(s: ScenarioResult) -> dict[str, Any]:
    conclusion = s.conclusion or ScenarioConclusion.ERROR
    reason = s.reason
    if conclusion is not ScenarioConclusion.PASSED and not reason:
        reason = "The scenario did not complete."
    report: dict[str, Any] = {
        "id": s.id.value,
        "title": s.title,
        "conclusion": conclusion.value,
        "reason": reason,
        "started_at": iso(s.started_at),
        "completed_at": iso(s.completed_at),
        "criteria": [
            {
                "id": c.id,
                "description": c.description,
                "passed": c.passed,
                "observed": c.observed,
                "threshold": c.threshold,
                "unit": c.unit,
            }
            for c in s.criteria
        ],
        "runs": [
            {
                "run_id": r.run_id,
                "head_sha": r.head_sha,
                "display_title": r.display_title,
                "status": r.status,
                "conclusion": r.conclusion,
                "created_at": iso(r.created_at),
                "jobs": [
                    {
                        "job_id": j.job_id,
                        "name": j.name,
                        "runner_name": j.runner_name,
                        "labels": list(j.labels),
                        "created_at": iso(j.created_at),
                        "started_at": iso(j.started_at),
                        "completed_at": iso(j.completed_at),
                        "conclusion": j.conclusion,
                    }
                    for j in r.jobs
                ],
            }
            for r in s.runs
        ],
        "measurements": dict(s.measurements),
        "steps": [
            {
                "name": st.name,
                "started_at": iso(st.started_at),
                "completed_at": iso(st.completed_at),
                "outcome": st.outcome.value if st.outcome else None,
                "error": st.error,
            }
            for st in s.steps
        ],
    }
    if s.regressions:
        report["regressions"] = [dataclasses.asdict(r) for r in s.regressions]
    return report


def _restoration_json(r: Restoration) -> dict[str, Any]:
    return {
        "host": r.host,
        "fault": r.fault,
        "undo": r.undo,
        "injected_at": iso(r.injected_at),
        "restored_at": iso(r.restored_at),
        "ok": r.ok,
        "after_restart": r.after_restart,
    }
