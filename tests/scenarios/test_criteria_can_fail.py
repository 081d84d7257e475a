"""Every check the bot makes must be able to fail: for each criterion the other scenario tests only ever see pass,
a simulated staging world in which it is False, the scenario concludes `failed`, and the reason names the cause."""

from __future__ import annotations

from pathlib import Path

from bot.github.models import WorkflowJob, WorkflowRun
from bot.model import ScenarioId, StepOutcome
from bot.reporting.check_render import scenario_output
from bot.reporting.comment_render import render_comment
from bot.reporting.escape import md_text
from bot.reporting.jira_render import finished_comment
from bot.texts import reports as texts
from tests.hostile import HEALTH_STATUS, TITLE, jira_problems, markdown_problems
from tests.scenarios.pipeline import DEPLOY_LOG_ERROR
from tests.scenarios.verdicts import crit, criteria, failed
from tests.scenarios.world import PRIMARY, SECONDARY, world


# ----------------------------------------------------------------------------------------------- failover
async def test_primary_never_reported_offline_fails_primary_offline(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.runner_offline_after = None  # GitHub keeps showing the stopped primary online
        v = await w.verify(ScenarioId.FAILOVER)
    s = failed(v, ScenarioId.FAILOVER)
    assert crit(v, ScenarioId.FAILOVER, "primary-offline") is False
    assert crit(v, ScenarioId.FAILOVER, "primary-restored") is True
    assert s.reason == f"GitHub still reported {PRIMARY} online 10 s after its service was stopped."
    assert s.runs == [] and w.repo.dispatches == []  # nothing is deployed while the primary still looks online
    assert all(r.ok for r in v.restorations)


async def test_primary_not_back_online_after_restart_fails_primary_restored(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.runner_online_after = None  # the service starts, but the runner never reconnects to GitHub
        v = await w.verify(ScenarioId.FAILOVER)
        assert w.ssh.running(PRIMARY, f"actions.runner.paws360-paws360.{PRIMARY}.service")
    s = failed(v, ScenarioId.FAILOVER)
    assert criteria(s, "primary-offline", "deploy-succeeded", "primary-restored") == {
        "primary-offline": True,
        "deploy-succeeded": True,
        "primary-restored": False,
    }
    assert s.reason == f"{PRIMARY} was not reported online within 10 s of its restart."


async def test_deploy_failing_on_the_secondary_fails_deploy_succeeded(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.deploy_fails = lambda _run, runner: runner == SECONDARY
        v = await w.verify(ScenarioId.FAILOVER)
    s = failed(v, ScenarioId.FAILOVER)
    for cid in ("secondary-runner", "failover-latency", "primary-restored"):
        assert crit(v, ScenarioId.FAILOVER, cid) is True, cid
    assert crit(v, ScenarioId.FAILOVER, "deploy-succeeded") is False
    # The failed step's `##[error]` line is in the log too, and the log is the evidence a person would open.
    assert crit(v, ScenarioId.FAILOVER, "deploy-log-clean") is False
    assert s.reason == (
        f"The deploy job on {SECONDARY} concluded failure, not success. "
        + texts.DEPLOY_LOG_ERRORS.format(count=1, first="##[error]Process completed with exit code 1.")
    )


async def test_an_error_in_the_secondarys_deploy_log_fails_failover_on_deploy_log_clean(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.deploy_log_error_on = frozenset({SECONDARY})
        v = await w.verify(ScenarioId.FAILOVER)
    s = failed(v, ScenarioId.FAILOVER)
    assert [c.id for c in s.criteria if c.passed is not True] == ["deploy-log-clean"]
    clean = next(c for c in s.criteria if c.id == "deploy-log-clean")
    assert (clean.observed, clean.threshold) == (1, 0)
    assert s.reason == texts.DEPLOY_LOG_ERRORS.format(count=1, first=DEPLOY_LOG_ERROR)


async def test_log_naming_another_runner_fails_failover_on_deploy_log_runner(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.logged_runner = lambda runner: "rogue-runner" if runner == SECONDARY else runner
        v = await w.verify(ScenarioId.FAILOVER)
    s = failed(v, ScenarioId.FAILOVER)
    assert [c.id for c in s.criteria if c.passed is not True] == ["deploy-log-runner"]
    assert s.reason == texts.DEPLOY_LOG_RUNNER_WRONG.format(logged="rogue-runner", reported=SECONDARY)


# ----------------------------------------------------------------------------------------------- normal-deploy
async def test_log_naming_another_runner_fails_deploy_log_runner(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.logged_runner = lambda runner: SECONDARY  # the log's Set up job disagrees with the webhook
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = failed(v, ScenarioId.NORMAL_DEPLOY)
    assert [c.id for c in s.criteria if c.passed is not True] == ["deploy-log-runner"]
    runner = next(c for c in s.criteria if c.id == "deploy-log-runner")
    assert (runner.observed, runner.threshold) == (SECONDARY, PRIMARY)
    assert s.reason == texts.DEPLOY_LOG_RUNNER_WRONG.format(logged=SECONDARY, reported=PRIMARY)


async def test_a_hostile_error_line_is_quoted_once_and_shown_as_text(tmp_path: Path) -> None:
    line = f"##[error]{TITLE} {HEALTH_STATUS}"  # what a deploy script on the PR's branch may print
    async with world(tmp_path) as w:
        w.pipeline.deploy_log_error_on = frozenset({PRIMARY})
        w.pipeline.deploy_log_error_line = line
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = failed(v, ScenarioId.NORMAL_DEPLOY)
    assert s.reason == texts.DEPLOY_LOG_ERRORS.format(count=1, first=line)  # kept as written in the model
    s.check_run_id = 5
    comment = render_comment(v, base_url="http://127.0.0.1:9", signoff_team="paws360/sre")
    check = scenario_output(v, s)
    for body in (comment, check.summary, check.text or ""):
        assert markdown_problems(body) == [], body
    assert md_text(line) in comment  # escaped once, by the renderer: it still reads as the line
    assert jira_problems(finished_comment(v, pull_request_url="http://127.0.0.1:9/pull/42")) == []


async def test_a_log_github_does_not_serve_is_never_a_pass(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.no_log = frozenset({"deploy"})
        v = await w.verify(ScenarioId.NORMAL_DEPLOY)
    s = failed(v, ScenarioId.NORMAL_DEPLOY)
    assert criteria(s, "deploy-log-clean", "deploy-log-runner") == {"deploy-log-clean": None, "deploy-log-runner": None}
    [deploy] = [j for j in s.runs[0].jobs if j.name == "deploy"]
    error = f"GET the log of job {deploy.job_id} failed: Not Found"
    assert s.reason == texts.DEPLOY_LOG_UNREADABLE.format(error=error)  # said once for both criteria
    assert len(w.repo.of("job_log")) > 1  # a 404 is asked again for a while: GitHub may serve the log late
    [step] = [st for st in s.steps if st.name == texts.DEPLOY_LOG_STEP]
    assert (step.outcome, step.error) == (StepOutcome.FAILED, error)


# ----------------------------------------------------------------------------------------------- concurrency
async def test_first_deploy_failing_fails_first_completed(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.deploy_fails = lambda run, _runner: run == min(w.repo.runs)  # the first run's deploy
        v = await w.verify(ScenarioId.CONCURRENCY)
    s = failed(v, ScenarioId.CONCURRENCY)
    assert crit(v, ScenarioId.CONCURRENCY, "first-completed") is False
    for cid in ("second-held", "second-started-after", "no-overlap", "none-cancelled"):
        assert crit(v, ScenarioId.CONCURRENCY, cid) is True, cid
    assert s.reason == "The first run's deploy job concluded failure, not success."


async def test_no_group_with_one_runner_fails_on_order_not_on_overlap_when_the_second_deploys_first(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "no-concurrency") as w:
        # Only the primary carries the `primary` label, so it runs the deploy jobs one after the other; the first
        # run is slow to pick its runner, so the second run's deploy job goes first.
        w.pipeline.select_delay = lambda run: 10.0 if run == min(w.repo.runs) else 0.0
        v = await w.verify(ScenarioId.CONCURRENCY)
    s = failed(v, ScenarioId.CONCURRENCY)
    first, second = (next(j for j in r.jobs if j.name == "deploy") for r in s.runs)
    assert second.completed_at is not None and first.started_at is not None
    assert second.completed_at <= first.started_at  # the second run deployed first
    held = next(c for c in s.criteria if c.id == "second-held")
    assert (held.passed, held.observed) == (False, "completed")  # it had already deployed
    # Two overlaps, and each criterion, measurement and reason tells the same one: the runs overlapped, the
    # deploy jobs (one runner) did not.
    order = next(c for c in s.criteria if c.id == "second-started-after")
    jobs = next(c for c in s.criteria if c.id == "no-overlap")
    assert (order.passed, order.threshold, order.unit) == (False, 0, "s")
    assert isinstance(order.observed, float) and order.observed > 0
    assert s.measurements["runs_overlap_s"] == order.observed
    assert f"The runs overlapped for {order.observed:g} s: the second started before the first completed." in (
        s.reason or ""
    ), s.reason
    assert (jobs.passed, jobs.observed, s.measurements["deploy_jobs_overlap_s"]) == (True, 0.0, 0.0)


async def test_cancel_in_progress_fails_none_cancelled(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.cancel_in_progress = True  # the second dispatch cancels the first run
        v = await w.verify(ScenarioId.CONCURRENCY)
    s = failed(v, ScenarioId.CONCURRENCY)
    assert crit(v, ScenarioId.CONCURRENCY, "none-cancelled") is False
    assert crit(v, ScenarioId.CONCURRENCY, "first-completed") is False
    assert [r.conclusion for r in s.runs] == ["cancelled", "success"]
    assert "A run was cancelled (conclusions: cancelled, success)." in (s.reason or ""), s.reason
    assert w.clock.monotonic() < 60  # judged when the runs ended, not after waiting out the run timeout


# ----------------------------------------------------------------------------------------------- rollback
async def test_blind_health_check_fails_health_check_failed(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.blind_health_check = True
        v = await w.verify(ScenarioId.ROLLBACK)
    s = failed(v, ScenarioId.ROLLBACK)
    assert crit(v, ScenarioId.ROLLBACK, "health-check-failed") is False
    assert crit(v, ScenarioId.ROLLBACK, "rollback-ran") is False  # nothing to roll back from a passed check
    assert crit(v, ScenarioId.ROLLBACK, "backend-restored") is True
    assert (s.reason or "").startswith("The health-check job concluded success although the backend was stopped.")


async def test_backend_unhealthy_after_restart_fails_backend_restored(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.backend_broken_after_restart = True
        v = await w.verify(ScenarioId.ROLLBACK)
        assert w.backend_running()
    s = failed(v, ScenarioId.ROLLBACK)
    for cid in ("health-check-failed", "rollback-ran", "rollback-duration", "version-restored", "incident-issue"):
        assert crit(v, ScenarioId.ROLLBACK, cid) is True, cid
    assert crit(v, ScenarioId.ROLLBACK, "backend-restored") is False
    assert s.reason == "After its restart the backend reports DOWN (db DOWN, redis UP), not UP as before."


async def test_third_dispatch_displacing_the_pending_run_fails_none_cancelled(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.pipeline.one_pending = True  # GitHub's rule: a newly pending run cancels the one already pending

        async def someone_deploys() -> None:
            await w.repo.dispatch_workflow(workflow="ci.yml", ref="main", inputs={"environment": "staging"})

        def dispatch_third(obj: WorkflowRun | WorkflowJob) -> None:
            # Someone else deploys once the first run's deploy is done, while the scenario's second run is pending.
            if isinstance(obj, WorkflowJob) and obj.name == "deploy" and obj.status == "completed" and not third:
                third.append(obj.run_id)
                w._spawn(someone_deploys())

        third: list[int] = []
        w.repo.listeners.append(dispatch_third)
        v = await w.verify(ScenarioId.CONCURRENCY)
    s = failed(v, ScenarioId.CONCURRENCY)
    assert crit(v, ScenarioId.CONCURRENCY, "none-cancelled") is False
    assert crit(v, ScenarioId.CONCURRENCY, "first-completed") is True
    assert crit(v, ScenarioId.CONCURRENCY, "second-held") is True
    assert [r.conclusion for r in s.runs] == ["success", "cancelled"]
    assert "A run was cancelled (conclusions: success, cancelled)." in (s.reason or ""), s.reason
    assert "The second run never started a job." in (s.reason or "")
