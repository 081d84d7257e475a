"""Reading a lab workflow (GitHub's YAML structure as data): dispatch inputs, the `github` context, `needs`, and the
job description a runner agent receives (steps with expressions substituted, environment, job token)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.github.expressions import substitute_all
from lab.github.state import JobState, RunState


class DispatchError(Exception):
    """A dispatch GitHub would refuse; `status` is the HTTP status (404 or 422)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def needs_of(spec: dict[str, Any]) -> list[str]:
    raw = spec.get("needs") or []
    return [raw] if isinstance(raw, str) else [str(n) for n in raw]


def dispatch_inputs(spec: dict[str, Any], given: dict[str, Any]) -> dict[str, str]:
    """The run's inputs: given values, then declared defaults; unknown or missing required inputs are refused."""
    declared: dict[str, Any] = ((spec.get("on") or {}).get("workflow_dispatch") or {}).get("inputs") or {}
    unexpected = sorted(set(given) - set(declared))
    if unexpected:
        raise DispatchError("Unexpected inputs provided: [" + ", ".join(f'"{n}"' for n in unexpected) + "]")
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        declaration = declaration or {}
        if name in given:
            values[name] = str(given[name])
        elif declaration.get("required") and "default" not in declaration:
            raise DispatchError(f"Required input '{name}' not provided")
        else:
            values[name] = str(declaration.get("default", ""))
    return values


@dataclass(frozen=True)
class RunFacts:
    """What the `github` context of a run says."""

    repository: str
    api_url: str
    run_id: int
    run_number: int
    workflow: str
    branch: str
    sha: str
    actor: str


def github_context(facts: RunFacts) -> dict[str, Any]:
    github = {
        "repository": facts.repository,
        "repository_owner": facts.repository.split("/", 1)[0],
        "ref": f"refs/heads/{facts.branch}",
        "ref_name": facts.branch,
        "sha": facts.sha,
        "event_name": "workflow_dispatch",
        "actor": facts.actor,
        "triggering_actor": facts.actor,
        "run_id": str(facts.run_id),
        "run_number": str(facts.run_number),
        "run_attempt": "1",
        "workflow": facts.workflow,
        "server_url": facts.api_url,
        "api_url": facts.api_url,
    }
    return {"github": github, "vars": {}, "env": {}}


def job_offer(job: JobState, run: RunState, context: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The job as a runner agent receives it. `steps.*` expressions stay for the agent, which knows step outputs."""
    needs = {n: context["needs"].get(n, {}) for n in needs_of(job.spec)}
    context = {**context, "needs": needs}
    job_env = {**env, **{k: str(v) for k, v in substitute_all(job.spec.get("env") or {}, context).items()}}
    steps = [
        {
            "number": i + 2,  # step 1 is GitHub's "Set up job"
            "name": job.steps[i + 1].name,
            "id": step.get("id"),
            "uses": step.get("uses"),
            "with": {k: str(v) for k, v in substitute_all(step.get("with") or {}, context, keep=("steps",)).items()},
        }
        for i, step in enumerate(job.spec.get("steps") or [])
    ]
    return {
        "job_id": job.id,
        "run_id": run.id,
        "name": job.name,
        "steps": steps,
        "env": job_env,
        "inputs": dict(run.inputs),
        "needs": needs,
        "outputs": job.spec.get("outputs") or {},
    }
