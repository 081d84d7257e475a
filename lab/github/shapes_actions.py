"""GitHub's JSON shapes for Actions and checks: workflows, workflow runs, jobs, self-hosted runners, check suites
and check runs (REST answers and webhook payloads)."""

from __future__ import annotations

from typing import Any

from lab.github.objects import BaseShapes, node_id
from lab.github.state import CheckRunState, CheckSuiteState, JobState, RunnerState, RunState, iso_s, iso_step, stable_id

_NOT_IN_CHECK_RUN_SUITE = (
    "repository",
    "runs_rerequestable",
    "rerequestable",
    "check_runs_url",
    "head_commit",
    "latest_check_runs_count",
)


class ActionShapes(BaseShapes):
    def workflow(self, workflow_id: int, path: str, name: str) -> dict[str, Any]:
        return {
            "id": workflow_id,
            "node_id": node_id("W", workflow_id),
            "name": name,
            "path": path,
            "state": "active",
            "created_at": "2024-01-15T09:00:00.000Z",
            "updated_at": "2024-01-15T09:00:00.000Z",
            "url": f"{self.repo_api}/actions/workflows/{workflow_id}",
            "html_url": f"{self.repo_html}/blob/{self.config.default_branch}/{path}",
            "badge_url": f"{self.repo_html}/workflows/{name}/badge.svg",
        }

    def workflow_run(self, run: RunState, *, webhook: bool = False) -> dict[str, Any]:
        api = f"{self.repo_api}/actions/runs/{run.id}"
        status = run.status
        if webhook and status == "pending":
            status = "queued"  # octokit's webhook enum has no `pending` (only REST shows it)
        actor = self.user(run.actor)
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WFR", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.path,
            "display_title": run.display_title,
            "run_number": run.run_number,
            "event": run.event,
            "status": status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": run.check_suite_id,
            "check_suite_node_id": node_id("CS", run.check_suite_id),
            "url": api,
            "html_url": f"{self.repo_html}/actions/runs/{run.id}",
            "pull_requests": self.pull_refs(run.head_sha),
            "created_at": iso_s(run.created_at),
            "updated_at": iso_s(run.updated_at),
            "actor": actor,
            "triggering_actor": actor,
            "run_attempt": 1,
            "referenced_workflows": [],
            "run_started_at": iso_s(run.run_started_at),
            "jobs_url": f"{api}/jobs",
            "logs_url": f"{api}/logs",
            "check_suite_url": f"{self.repo_api}/check-suites/{run.check_suite_id}",
            "artifacts_url": f"{api}/artifacts",
            "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{self.repo_api}/actions/workflows/{run.workflow_id}",
            "head_commit": self.head_commit(run.head_sha),
            "repository": self.repository_lite(),
            "head_repository": self.repository_lite(),
        }

    def workflow_job(self, job: JobState, run: RunState) -> dict[str, Any]:
        # GitHub: runner_* fields are null as long as the job is queued.
        queued = job.status in ("queued", "waiting")
        return {
            "id": job.id,
            "run_id": run.id,
            "workflow_name": run.name,
            "head_branch": run.head_branch,
            "run_url": f"{self.repo_api}/actions/runs/{run.id}",
            "run_attempt": 1,
            "node_id": node_id("J", job.id),
            "head_sha": run.head_sha,
            "url": f"{self.repo_api}/actions/jobs/{job.id}",
            "html_url": f"{self.repo_html}/actions/runs/{run.id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": iso_s(job.created_at),
            "started_at": iso_s(job.started_at or job.created_at),
            "completed_at": iso_s(job.completed_at),
            "name": job.name,
            "steps": [
                {
                    "name": s.name,
                    "status": s.status,
                    "conclusion": s.conclusion,
                    "number": s.number,
                    "started_at": iso_step(s.started_at),
                    "completed_at": iso_step(s.completed_at),
                }
                for s in job.steps
                if not queued
            ],
            "check_run_url": f"{self.repo_api}/check-runs/{job.check_run_id}",
            "labels": list(job.labels),
            "runner_id": None if queued else job.runner_id,
            "runner_name": None if queued else job.runner_name,
            "runner_group_id": None if queued else job.runner_group_id,
            "runner_group_name": None if queued else job.runner_group_name,
        }

    def runner(self, runner: RunnerState) -> dict[str, Any]:
        defaults = {"self-hosted", "linux", "x64"}
        return {
            "id": runner.id,
            "name": runner.name,
            "os": "linux",
            "status": "online" if runner.online else "offline",
            "busy": runner.busy,
            "ephemeral": False,
            "runner_group_id": 1,
            "labels": [
                {
                    "id": stable_id("label:" + label, base=1),
                    "name": label,
                    "type": "read-only" if label.lower() in defaults else "custom",
                }
                for label in runner.labels
            ],
        }

    # ------------------------------------------------------------------------------------------ checks
    def check_suite(self, suite: CheckSuiteState, *, runs_count: int, webhook: bool = False) -> dict[str, Any]:
        out = {
            "id": suite.id,
            "node_id": node_id("CS", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": suite.status,
            "conclusion": suite.conclusion,
            "url": f"{self.repo_api}/check-suites/{suite.id}",
            "before": "0" * 40,
            "after": suite.head_sha,
            "pull_requests": self.pull_refs(suite.head_sha),
            "app": self.app() if suite.app_owned else self.actions_app(),
            "created_at": iso_s(suite.created_at),
            "updated_at": iso_s(suite.updated_at),
            "rerequestable": True,
            "runs_rerequestable": True,
            "latest_check_runs_count": runs_count,
            "check_runs_url": f"{self.repo_api}/check-suites/{suite.id}/check-runs",
            "head_commit": self.head_commit(suite.head_sha),
        }
        if not webhook:
            out["repository"] = self.repository()
        return out

    def check_run(self, run: CheckRunState, suite: CheckSuiteState) -> dict[str, Any]:
        api = f"{self.repo_api}/check-runs/{run.id}"
        return {
            "id": run.id,
            "node_id": node_id("CR", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id,
            "url": api,
            "html_url": f"{self.repo_html}/runs/{run.id}",
            "details_url": run.details_url or f"{self.repo_html}/runs/{run.id}",
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso_s(run.started_at),
            "completed_at": iso_s(run.completed_at),
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": run.annotations_count,
                "annotations_url": f"{api}/annotations",
            },
            "name": run.name,
            "check_suite": {
                k: v for k, v in self.check_suite(suite, runs_count=1).items() if k not in _NOT_IN_CHECK_RUN_SUITE
            },
            "app": self.app() if run.app_owned else self.actions_app(),
            "pull_requests": self.pull_refs(run.head_sha),
        }
