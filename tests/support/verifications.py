"""A verification as the engine leaves it, for tests of what is shown and done with one: `new_verification()` for
pull request #42 of `REPO` at head `SHA`, and `conclude()` to fill a scenario with criteria, steps, runs and jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.model import (
    Criterion,
    JobRecord,
    Restoration,
    RunRecord,
    ScenarioConclusion,
    ScenarioId,
    ScenarioResult,
    ScenarioStatus,
    Step,
    StepOutcome,
    Verification,
    VerificationConclusion,
)
from tests.fakes.clock import EPOCH
from tests.support.settings import REPOSITORY

SHA = "a" * 40
REPO = REPOSITORY


def _t(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def new_verification(scenarios: Sequence[ScenarioId] = tuple(ScenarioId)) -> Verification:
    return Verification(
        verification_id="v-0001",
        installation_id=1001,
        repository=REPO,
        pull_request=42,
        head_sha=SHA,
        ref="001-github-runner-deploy",
        environment="staging",
        requested_by="alice-admin",
        scenarios=[ScenarioResult(id=s) for s in scenarios],
        started_at=EPOCH,
    )


def conclude(
    s: ScenarioResult,
    conclusion: ScenarioConclusion,
    *,
    start: float,
    runner: str = "production-runner-01",
    measurements: Mapping[str, float | None] | None = None,
) -> None:
    """Fill a scenario as the engine would once it has concluded."""
    s.status = ScenarioStatus.COMPLETED
    s.conclusion = conclusion
    s.started_at, s.completed_at = _t(start), _t(start + 12)
    passed = conclusion is ScenarioConclusion.PASSED
    s.criteria = [
        Criterion(
            "deployment_duration", "Deployment completes within the threshold", passed, 9.0 if passed else 31.5, 20, "s"
        ),
        Criterion("runner", "Deploy job ran on the expected runner", True, runner, runner),
    ]
    if not passed:
        s.reason = "Deployment took 31.5 s, over the 20 s threshold."
    s.steps = [
        Step("dispatch", _t(start), _t(start + 1), StepOutcome.OK),
        Step("observe", _t(start + 1), _t(start + 12), StepOutcome.OK),
    ]
    s.runs = [
        RunRecord(
            run_id=9000 + int(start),
            head_sha=SHA,
            display_title=f"Deploy staging t-{int(start)}",
            status="completed",
            conclusion="success" if passed else "failure",
            created_at=_t(start + 1),
            jobs=[
                JobRecord(
                    job_id=70000 + int(start),
                    name="deploy",
                    run_id=9000 + int(start),
                    conclusion="success" if passed else "failure",
                    runner_name=runner,
                    labels=["self-hosted", "production", "primary"],
                    created_at=_t(start + 1),
                    started_at=_t(start + 2),
                    completed_at=_t(start + 11),
                )
            ],
        )
    ]
    s.measurements = dict(measurements or {"deployment_duration_s": 9.0 if passed else 31.5, "queue_s": 1.0})


def finished_with_evidence(*, verification_id: str = "vs-0123456789abcdef01234567") -> Verification:
    """A finished, passed verification of all five scenarios with what its timeline shows: jobs on both runners,
    the three faults (primary runner, backend, primary runner again) restored, the failover and rollback criteria
    with their thresholds, and the monitoring scenario's alert fire and notification times."""
    v = new_verification()
    v.verification_id = verification_id
    for index, s in enumerate(v.scenarios):
        conclude(s, ScenarioConclusion.PASSED, start=index * 20)
    failover, rollback, monitoring = (
        v.scenario(i) for i in (ScenarioId.FAILOVER, ScenarioId.ROLLBACK, ScenarioId.MONITORING)
    )
    deploy = failover.runs[0].jobs[0]
    deploy.runner_name = "production-runner-02"
    failover.measurements["failover_latency_s"] = 1.0
    failover.criteria.append(Criterion("failover-latency", "Failover within the threshold", True, 1.0, 30.0, "s"))
    run = rollback.runs[0]
    run.jobs.append(
        JobRecord(
            job_id=80000, name="health-check", run_id=run.run_id, conclusion="failure",
            runner_name="production-runner-01", started_at=_t(72), completed_at=_t(74),
        )
    )  # fmt: skip
    run.jobs.append(
        JobRecord(
            job_id=80001, name="rollback", run_id=run.run_id, conclusion="success",
            runner_name="production-runner-01", started_at=_t(75), completed_at=_t(78),
        )
    )  # fmt: skip
    rollback.measurements["rollback_s"] = 4.0
    rollback.criteria.append(Criterion("rollback-duration", "Rollback within the threshold", True, 4.0, 300.0, "s"))
    monitoring.measurements.update({"alert_fire_s": 5.0, "notification_s": 2.0})
    v.restorations = [
        Restoration("runner-1", "systemctl stop actions.runner.primary", "systemctl start actions.runner.primary",
                    ok=True, injected_at=_t(40.5), restored_at=_t(51)),
        Restoration("app-1", "systemctl stop backend", "systemctl start backend",
                    ok=True, injected_at=_t(61), restored_at=_t(79)),
        Restoration("runner-1", "systemctl stop actions.runner.primary", "systemctl start actions.runner.primary",
                    ok=True, injected_at=_t(82), restored_at=_t(90)),
    ]  # fmt: skip
    v.completed_at = _t(100)
    v.conclusion = VerificationConclusion.SUCCESS
    return v
