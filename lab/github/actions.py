"""GitHub Actions in the lab: a dispatched workflow becomes a run whose jobs are queued as their `needs` finish,
gated by `if:`, routed to runners by `runs-on`, serialised by concurrency groups, and reported through
`workflow_run` / `workflow_job` webhooks and the truth log."""

from __future__ import annotations

import secrets
from typing import Any

from lab.github.concurrency import Groups, GroupSpec, Member
from lab.github.config import SimConfig
from lab.github.expressions import JobStatus, evaluate_condition, substitute, substitute_all
from lab.github.part import SimPart
from lab.github.pulls import Pulls
from lab.github.runners import RoutingHooks, RunnerPool
from lab.github.shapes import Shapes
from lab.github.state import JobState, RunnerState, RunState, StepState, stable_id, utcnow
from lab.github.webhooks import WebhookHub
from lab.github.workflow_data import DispatchError, RunFacts, dispatch_inputs, github_context, job_offer, needs_of
from lab.truth import Truth


class Actions(SimPart):
    """Runs, jobs and their life cycle. One instance per simulated repository."""

    def __init__(self, config: SimConfig, shapes: Shapes, hub: WebhookHub, truth: Truth, *, pulls: Pulls) -> None:
        super().__init__(config, shapes, hub, truth, pulls=pulls)
        self.runs: dict[int, RunState] = {}
        self.jobs: dict[int, JobState] = {}
        self.groups = Groups()
        self.job_tokens: dict[str, int] = {}  # GITHUB_TOKEN -> run id
        self._run_ids = iter(range(7_000_000_001, 8_000_000_000))
        self._job_ids = iter(range(40_000_000_001, 50_000_000_000))
        self._suite_ids = iter(range(20_000_000_001, 21_000_000_000, 2))
        self._run_numbers: dict[str, int] = {}
        self.pool = RunnerPool(config, truth, RoutingHooks(started=self._started, lost=self._lost, offer=self._offer))

    # ------------------------------------------------------------------------------------------ workflows
    def workflow_id(self, path: str) -> int:
        return stable_id("workflow:" + path, base=100_000_000)

    def find_workflow(self, ident: str) -> str | None:
        """A workflow by numeric id or file name, as the REST API accepts it."""
        for path in self.config.workflows:
            if ident == str(self.workflow_id(path)) or ident == path.rsplit("/", 1)[-1] or ident == path:
                return path
        return None

    def branch_head(self, branch: str) -> str | None:
        """The commit a branch (or `refs/heads/...`) points at; None when the repository has no such branch."""
        return self._head_sha(branch)

    def _head_sha(self, ref: str) -> str | None:
        branch = ref.removeprefix("refs/heads/")
        if branch == self.config.default_branch:
            return self.config.head_sha
        for pr in self.pulls:
            if pr.head_ref == branch:
                return pr.head_sha
        return None

    def dispatch(self, *, workflow: str, ref: str, inputs: dict[str, Any], actor: str) -> RunState:
        path = self.find_workflow(workflow)
        if path is None:
            raise DispatchError("Not Found", status=404)
        spec = self.config.workflows[path]
        head_sha = self._head_sha(ref)
        if head_sha is None:
            raise DispatchError(f"No ref found for: {ref}")
        values = dispatch_inputs(spec, inputs)
        branch = ref.removeprefix("refs/heads/")
        run_id = next(self._run_ids)
        self._run_numbers[path] = self._run_numbers.get(path, 0) + 1
        facts = RunFacts(
            self.config.repository,
            self.shapes.base,
            run_id,
            self._run_numbers[path],
            str(spec.get("name") or path),
            branch,
            head_sha,
            actor,
        )
        context = {**github_context(facts), "inputs": values}
        title = substitute(str(spec.get("run-name") or spec.get("name") or path), context)
        now = utcnow()
        run = RunState(
            id=run_id,
            run_number=self._run_numbers[path],
            workflow_id=self.workflow_id(path),
            path=path,
            name=str(spec.get("name") or path),
            display_title=title,
            event="workflow_dispatch",
            head_sha=head_sha,
            head_branch=branch,
            actor=actor,
            inputs=values,
            spec=spec,
            check_suite_id=next(self._suite_ids),
            created_at=now,
            updated_at=now,
            run_started_at=now,
        )
        self.runs[run.id] = run
        token = "ghs_" + secrets.token_urlsafe(27)
        self.job_tokens[token] = run.id
        self.truth.record("run_created", run_id=run.id, workflow=path, display_title=title, actor=actor)
        group = GroupSpec.parse(substitute_all(spec.get("concurrency"), context))
        if group is None:
            self._start_run(run)
            return run
        run.group = group.group
        admission = self.groups.admit(group, ("run", run.id))
        for member, message in admission.cancel:
            self._cancel_member(member, message)
        if admission.start:
            self._start_run(run)
        elif run.status != "completed":
            run.status = "pending"
            self.truth.record("run_pending", run_id=run.id, group=group.group)
            if self.config.send_pending_webhooks:
                self._run_hook(run, "requested")
        return run

    def token_for_run(self, run_id: int) -> str:
        return next(t for t, r in self.job_tokens.items() if r == run_id)

    def run_context(self, run: RunState) -> dict[str, Any]:
        facts = RunFacts(
            self.config.repository,
            self.shapes.base,
            run.id,
            run.run_number,
            run.name,
            run.head_branch,
            run.head_sha,
            run.actor,
        )
        ctx = {**github_context(facts), "inputs": dict(run.inputs)}
        ctx["needs"] = {
            key: {"result": job.conclusion, "outputs": dict(job.outputs)}
            for key, job in run.jobs.items()
            if job.status == "completed"
        }
        return ctx

    # ------------------------------------------------------------------------------------------ life cycle
    def _start_run(self, run: RunState) -> None:
        run.status = "queued"
        run.updated_at = run.run_started_at = utcnow()
        self._run_hook(run, "requested")
        self._advance(run)

    def _advance(self, run: RunState) -> None:
        if run.status == "completed":
            return
        spec_jobs: dict[str, dict[str, Any]] = run.spec.get("jobs") or {}
        for key, spec in spec_jobs.items():
            if key in run.jobs:
                continue
            needs = needs_of(spec)
            if any(n not in run.jobs or run.jobs[n].status != "completed" for n in needs):
                continue
            self._create_job(run, key, spec)
        if len(run.jobs) == len(spec_jobs) and all(j.status == "completed" for j in run.jobs.values()):
            self._complete_run(run)

    def _ancestor_results(self, run: RunState, key: str) -> tuple[str, ...]:
        seen: set[str] = set()
        todo = list(needs_of(run.spec["jobs"][key]))
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(needs_of(run.spec["jobs"][name]))
        return tuple(run.jobs[n].conclusion or "" for n in sorted(seen) if n in run.jobs)

    def _create_job(self, run: RunState, key: str, spec: dict[str, Any]) -> None:
        context = self.run_context(run)
        name = substitute(str(spec.get("name") or key), context)
        job = JobState(id=next(self._job_ids), run_id=run.id, key=key, name=name, spec=spec)
        job.check_run_id = job.id + 1_000_000_000
        run.jobs[key] = job
        self.jobs[job.id] = job
        status = JobStatus(needs_results=self._ancestor_results(run, key))
        if not evaluate_condition(spec.get("if"), context, status):
            job.status, job.conclusion = "completed", "skipped"
            job.started_at = job.completed_at = job.created_at
            self._job_hook(job, "completed")
            self.truth.record("job_completed", run_id=run.id, job_id=job.id, job=job.name, conclusion="skipped")
            return
        runs_on = substitute_all(spec.get("runs-on", []), context)
        job.labels = [str(label) for label in ([runs_on] if isinstance(runs_on, str) else runs_on)]
        steps = spec.get("steps") or []
        job.steps = [
            StepState(1, "Set up job"),
            *(StepState(i + 2, str(s.get("name") or s.get("uses") or f"step {i + 1}")) for i, s in enumerate(steps)),
            StepState(len(steps) + 2, "Complete job"),
        ]
        group = GroupSpec.parse(substitute_all(spec.get("concurrency"), context))
        if group is not None:
            job.group = group.group
            admission = self.groups.admit(group, ("job", job.id))
            for member, message in admission.cancel:
                self._cancel_member(member, message)
            job.held = not admission.start
        if job.status == "completed":
            return
        self._job_hook(job, "queued")
        self.pool.enqueue(job)

    def _started(self, job: JobState, runner: RunnerState, shown: str) -> None:
        run = self.runs[job.run_id]
        now = utcnow()
        job.status, job.started_at, job.runner_name = "in_progress", now, shown
        job.steps[0].status, job.steps[0].started_at = "in_progress", now
        self.truth.record("job_assigned", run_id=run.id, job_id=job.id, job=job.name, runner=shown)
        if run.status != "in_progress":
            run.status, run.updated_at = "in_progress", now
            self._run_hook(run, "in_progress")
        self._job_hook(job, "in_progress")

    def step_report(self, job: JobState, number: int, status: str, conclusion: str | None) -> None:
        now = utcnow()
        if job.steps and job.steps[0].status != "completed":
            job.steps[0].status, job.steps[0].conclusion, job.steps[0].completed_at = "completed", "success", now
        for step in job.steps:
            if step.number == number:
                if step.started_at is None:
                    step.started_at = now
                step.status, step.conclusion = status, conclusion
                if status == "completed":
                    step.completed_at = now

    def finish_job(self, job: JobState, conclusion: str, outputs: dict[str, str], message: str | None = None) -> None:
        if job.status == "completed":
            return
        run = self.runs[job.run_id]
        now = utcnow()
        for step in job.steps:
            if step.status != "completed":
                step.status = "completed"
                step.conclusion = step.conclusion or ("success" if conclusion == "success" else "skipped")
                step.started_at = step.started_at or now
                step.completed_at = now
        job.status, job.conclusion, job.completed_at = "completed", conclusion, now
        job.outputs, job.message = dict(outputs), message
        job.held = False
        self.pool.finished(job.id)
        self._job_hook(job, "completed")
        self.truth.record("job_completed", run_id=run.id, job_id=job.id, job=job.name, conclusion=conclusion)
        if job.group is not None:
            following = self.groups.release(job.group, ("job", job.id))
            if following is not None:
                self._resume_member(following)
        self._advance(run)

    def _lost(self, job: JobState, message: str) -> None:
        self.finish_job(job, "failure", {}, message)

    def cancel_run(self, run: RunState, message: str | None = None) -> None:
        if run.status == "completed":
            return
        run.message = message
        self.truth.record("run_cancelled", run_id=run.id, message=message)
        if run.status == "pending" or not run.jobs:
            run.conclusion = "cancelled"
            self._complete_run(run)
            return
        run.conclusion = "cancelled"
        for job in list(run.jobs.values()):
            if job.status != "completed":
                self.finish_job(job, "cancelled", {}, message)
        self._complete_run(run)

    def _cancel_member(self, member: Member, message: str) -> None:
        kind, ident = member
        if kind == "run" and ident in self.runs:
            self.cancel_run(self.runs[ident], message)
        elif kind == "job" and ident in self.jobs:
            self.finish_job(self.jobs[ident], "cancelled", {}, message)

    def _resume_member(self, member: Member) -> None:
        kind, ident = member
        if kind == "run" and ident in self.runs:
            self._start_run(self.runs[ident])
        elif kind == "job" and ident in self.jobs:
            self.jobs[ident].held = False
            self.pool.assign()

    def _complete_run(self, run: RunState) -> None:
        if run.status == "completed":
            return
        results = [j.conclusion for j in run.jobs.values()]
        if run.conclusion is None:
            run.conclusion = "failure" if "failure" in results else "cancelled" if "cancelled" in results else "success"
        run.status, run.updated_at = "completed", utcnow()
        if run.requested_sent or self.config.send_pending_webhooks:
            self._run_hook(run, "completed")
        self.truth.record("run_completed", run_id=run.id, conclusion=run.conclusion, message=run.message)
        if run.group is not None:
            following = self.groups.release(run.group, ("run", run.id))
            if following is not None:
                self._resume_member(following)

    # ------------------------------------------------------------------------------------------ hooks
    def _run_hook(self, run: RunState, action: str) -> None:
        if action == "requested":
            run.requested_sent = True
        workflow = self.shapes.workflow(run.workflow_id, run.path, run.name)
        body = {"action": action, "workflow": workflow, "workflow_run": self.shapes.workflow_run(run, webhook=True)}
        self.hub.send("workflow_run", body, sender=run.actor)

    def _job_hook(self, job: JobState, action: str) -> None:
        run = self.runs[job.run_id]
        body = {"action": action, "workflow_job": self.shapes.workflow_job(job, run)}
        self.hub.send("workflow_job", body, sender=run.actor)

    def _offer(self, job: JobState) -> dict[str, Any]:
        run = self.runs[job.run_id]
        env = {
            **self.config.job_env,
            "GITHUB_API_URL": self.shapes.base,
            "GITHUB_REPOSITORY": self.config.repository,
            "GITHUB_TOKEN": self.token_for_run(run.id),
            "GITHUB_RUN_ID": str(run.id),
            "GITHUB_JOB": job.key,
            "GITHUB_SHA": run.head_sha,
            "GITHUB_REF_NAME": run.head_branch,
            "LAB_TRUTH_LOG": str(self.truth.path),
        }
        return job_offer(job, run, self.run_context(run), env)
