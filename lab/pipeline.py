"""The lab's deployment pipeline: the `Deploy` workflow (twin of deploy/workflows/ci.yml) and its step kinds.

`deploy_workflow(params)` builds the workflow as data in GitHub's YAML structure, shaped by the topology, the
faults and lab time. The step kinds `select_runner`, `deploy`, `health_check` and `rollback` run inside runner
agents (`uses: lab.pipeline:deploy`). Versions live on the backend host's state dir, one pair of files per deployed
component (the backend's `release/current` and `release/previous`, the frontend's `release/frontend/current` and
`release/frontend/previous`), so a deploy works while the backend process is stopped, as an Ansible deploy would.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lab.github.steps import GitHubAnswer, StepContext, StepFailed

# Job environment keys the world hands to every job (SimConfig.job_env).
ENV_RELEASE_DIR = "LAB_RELEASE_DIR"
ENV_BACKEND_URL = "LAB_BACKEND_URL"
ENV_FRONTEND_URL = "LAB_FRONTEND_URL"
ENV_BACKEND_HOST = "LAB_BACKEND_HOST"
# GITHUB_TOKEN cannot list runners (that needs administration:read), so, as a real pipeline would with a
# repository secret, select-runner uses a personal access token of an admin of the repository.
ENV_RUNNER_ADMIN_TOKEN = "LAB_RUNNER_ADMIN_TOKEN"
GITHUB_ATTEMPTS = 6
#: Each deployed component's place in the release dir: where the deploy installs it and the rollback restores it.
COMPONENT_DIRS = {"backend": ".", "frontend": "frontend"}


@dataclass(frozen=True)
class PipelineParams:
    """What shapes the workflow: names from the topology, lab timings, and the faults that remove parts of it."""

    environment: str
    primary_runner: str
    deploy_seconds: float
    health_check_timeout: float
    health_check_interval: float
    failover_seconds: float = 0.0  # how long picking a runner takes once the primary is gone
    concurrency: bool = True
    rollback: bool = True
    incident_label: str = "incident"
    required_components: tuple[str, ...] = ("db", "redis")
    #: Step kind -> step name, replacing ours (the workflow on a PR's branch names its steps as it likes).
    step_names: tuple[tuple[str, str], ...] = ()
    #: An error the deploy step reports on the primary runner (`##[error]` in its log) although it succeeds; "" for
    #: none.
    deploy_log_error: str = ""
    #: The components the rollback restores (fault partial-rollback: the backend only).
    rollback_components: tuple[str, ...] = ("backend", "frontend")
    #: The topology's labels: every deploy job runs on `[*deploy_labels, <role label of the runner picked>]`.
    deploy_labels: tuple[str, ...] = ("self-hosted", "production")
    primary_label: str = "primary"
    secondary_label: str = "secondary"


def deploy_workflow(params: PipelineParams) -> dict[str, Any]:
    """The `Deploy` workflow as data (what `yaml.safe_load` of ci.yml would give)."""
    labels = [*params.deploy_labels, "${{ needs.select-runner.outputs.label }}"]
    names = dict(params.step_names)
    deploy_with = {"version": "${{ inputs.test_id || github.sha }}", "seconds": str(params.deploy_seconds)}
    if params.deploy_log_error:
        deploy_with.update(log_error=params.deploy_log_error, log_error_on=params.primary_runner)
    jobs: dict[str, Any] = {
        "select-runner": {
            "runs-on": "ubuntu-latest",
            "outputs": {"role": "${{ steps.pick.outputs.role }}", "label": "${{ steps.pick.outputs.label }}"},
            "steps": [
                {
                    "id": "pick",
                    "name": names.get("select_runner", "Pick the primary runner if it is online, else the secondary"),
                    "uses": "lab.pipeline:select_runner",
                    "with": {
                        "primary": params.primary_runner,
                        "primary_label": params.primary_label,
                        "secondary_label": params.secondary_label,
                        "failover_seconds": str(params.failover_seconds),
                    },
                }
            ],
        },
        "deploy": {
            "needs": "select-runner",
            "runs-on": labels,
            "outputs": {"previous_version": "${{ steps.install.outputs.previous_version }}"},
            "steps": [
                {
                    "id": "install",
                    "name": names.get("deploy", "Deploy backend and frontend"),
                    "uses": "lab.pipeline:deploy",
                    "with": deploy_with,
                }
            ],
        },
        "health-check": {
            "needs": ["select-runner", "deploy"],
            "runs-on": labels,
            "steps": [
                {
                    "name": names.get("health_check", "Health checks"),
                    "uses": "lab.pipeline:health_check",
                    "with": {
                        "timeout": str(params.health_check_timeout),
                        "interval": str(params.health_check_interval),
                        "components": ",".join(params.required_components),
                    },
                }
            ],
        },
    }
    if params.rollback:
        jobs["rollback"] = {
            "needs": ["select-runner", "deploy", "health-check"],
            "if": "failure()",
            "runs-on": labels,
            "steps": [
                {
                    "name": names.get("rollback", "Roll back to the previous version"),
                    "uses": "lab.pipeline:rollback",
                    "with": {
                        "environment": "${{ inputs.environment }}",
                        "label": params.incident_label,
                        "components": ",".join(params.rollback_components),
                    },
                }
            ],
        }
    workflow: dict[str, Any] = {
        "name": "Deploy",
        "run-name": "Deploy ${{ inputs.environment }} ${{ inputs.test_id }}",
        "on": {
            "workflow_dispatch": {
                "inputs": {
                    "environment": {"required": True, "type": "string", "default": params.environment},
                    "test_mode": {"required": False, "type": "string", "default": "false"},
                    "test_id": {"required": False, "type": "string", "default": ""},
                }
            }
        },
        "jobs": jobs,
    }
    if params.concurrency:
        workflow["concurrency"] = {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    return workflow


def _release_dir(ctx: StepContext) -> Path:
    path = ctx.env.get(ENV_RELEASE_DIR)
    if not path:
        raise StepFailed(f"{ENV_RELEASE_DIR} is not set: this runner cannot reach the backend host")
    return Path(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _number(ctx: StepContext, key: str, default: float) -> float:
    try:
        return float(ctx.with_.get(key, default))
    except ValueError as error:
        raise StepFailed(f"with.{key} must be a number, got {ctx.with_.get(key)!r}") from error


def _github(ctx: StepContext, method: str, path: str, body: object | None = None) -> GitHubAnswer:
    # Like actions/github-script's retries: a 502 or a rate-limit 403 (fault github-flaky) is tried again.
    answer = ctx.github(method, path, body)
    for _ in range(GITHUB_ATTEMPTS - 1):
        if answer.status not in (403, 429, 502, 503):
            break
        time.sleep(1.0 if answer.status in (403, 429) else 0.2)
        answer = ctx.github(method, path, body)
    return answer


def select_runner(ctx: StepContext) -> None:
    """Output `role`: primary if the primary runner is online in GitHub's runners API, else secondary; and `label`:
    that role's runner label (`with.primary_label` / `with.secondary_label`), which the deploy jobs ask for."""
    primary = str(ctx.with_.get("primary", ""))
    admin = replace(ctx, env={**ctx.env, "GITHUB_TOKEN": ctx.env.get(ENV_RUNNER_ADMIN_TOKEN, "")})
    answer = _github(admin, "GET", f"/repos/{ctx.env['GITHUB_REPOSITORY']}/actions/runners?per_page=100")
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise StepFailed(f"cannot list runners: HTTP {answer.status}")
    online = any(r.get("name") == primary and r.get("status") == "online" for r in answer.body.get("runners", []))
    if online:
        ctx.log(f"{primary} is online: deploying on the primary runner")
        ctx.set_output("role", "primary")
        ctx.set_output("label", str(ctx.with_.get("primary_label") or "primary"))
        return
    delay = _number(ctx, "failover_seconds", 0.0)
    ctx.log(f"{primary} is offline: failing over to the secondary runner")
    if delay > 0:
        time.sleep(delay)
    ctx.set_output("role", "secondary")
    ctx.set_output("label", str(ctx.with_.get("secondary_label") or "secondary"))


def deploy(ctx: StepContext) -> None:
    """Records each component's current version as previous, then installs `with.version` (backend and frontend)
    after `with.seconds` of work; on the runner `with.log_error_on`, `with.log_error` is reported as an error
    (`##[error]`) without failing it."""
    release = _release_dir(ctx)
    version = str(ctx.with_.get("version") or ctx.env.get("GITHUB_SHA", "unknown"))
    previous = _read(release / "current")
    installed = {place: _read(release / place / "current") for place in COMPONENT_DIRS.values()}
    ctx.log(f"Runner: {ctx.runner_name}")
    ctx.log(f"deploying {version} (previous {previous or 'none'})")
    time.sleep(_number(ctx, "seconds", 0.0))
    for place, replaced in installed.items():
        component = release / place
        component.mkdir(parents=True, exist_ok=True)
        (component / "previous").write_text(replaced, encoding="utf-8")
        (component / "current").write_text(version, encoding="utf-8")
    ctx.set_output("previous_version", previous)
    ctx.set_output("version", version)
    if ctx.with_.get("log_error") and ctx.runner_name == ctx.with_.get("log_error_on"):
        # Like a deploy script that prints `::error::` and carries on: the job still succeeds.
        ctx.error(str(ctx.with_["log_error"]))
    ctx.truth(
        "version_deployed",
        version=version,
        previous=previous,
        runner=ctx.runner_name,
        run_id=ctx.run_id,
        host=ctx.env.get(ENV_BACKEND_HOST, ""),
    )


def _probe(url: str) -> tuple[int | None, Any, str]:
    """(HTTP status or None, parsed JSON body or None, error text)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (lab loopback URL)
            raw = answer.read()
            status = int(answer.status)
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except OSError as error:
        reason = getattr(error, "reason", error)
        return None, None, str(reason)
    try:
        return status, json.loads(raw), ""
    except ValueError:
        return status, None, ""


def _health_problems(ctx: StepContext, components: list[str]) -> list[str]:
    problems = []
    backend = ctx.env.get(ENV_BACKEND_URL, "").rstrip("/")
    status, body, error = _probe(f"{backend}/actuator/health")
    if status is None:
        problems.append(f"backend health: {error}")
    elif status != 200 or not isinstance(body, dict) or body.get("status") != "UP":
        problems.append(f"backend health: HTTP {status} status {body.get('status') if isinstance(body, dict) else '?'}")
    if isinstance(body, dict):
        for name in components:
            state = body.get("components", {}).get(name, {}).get("status", "missing")
            if state != "UP":
                problems.append(f"{name}: {state}")
    status, _, error = _probe(ctx.env.get(ENV_FRONTEND_URL, ""))
    if status != 200:
        problems.append(f"frontend: {error or f'HTTP {status}'}")
    return problems


def health_check(ctx: StepContext) -> None:
    """Backend UP with every required component UP and the frontend 200, retried until `with.timeout`."""
    components = [c for c in str(ctx.with_.get("components", "db,redis")).split(",") if c]
    timeout = _number(ctx, "timeout", 10.0)
    interval = max(_number(ctx, "interval", 0.5), 0.05)
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        problems = _health_problems(ctx, components)
        if not problems:
            ctx.log(f"health checks passed after {attempts} attempt(s)")
            return
        ctx.log(f"attempt {attempts}: {'; '.join(problems)}")
        if time.monotonic() + interval > deadline:
            raise StepFailed(f"health checks failed after {timeout:g} s: {'; '.join(problems)}")
        time.sleep(interval)


def rollback(ctx: StepContext) -> None:
    """Restores the previous version of each component in `with.components` (default: backend and frontend) and
    opens an issue labelled `with.label` (default `incident`)."""
    release = _release_dir(ctx)
    previous = _read(release / "previous")
    failed = _read(release / "current")
    if not previous:
        raise StepFailed("no previous version recorded on the backend host: nothing to roll back to")
    components = [c for c in str(ctx.with_.get("components", ",".join(COMPONENT_DIRS))).split(",") if c]
    unknown = [c for c in components if c not in COMPONENT_DIRS]
    if unknown:
        raise StepFailed(f"with.components names unknown components: {', '.join(unknown)}")
    for name in components:
        component = release / COMPONENT_DIRS[name]
        (component / "current").write_text(_read(component / "previous"), encoding="utf-8")
        ctx.log(f"restored the {name} to {_read(component / 'current')}")
    ctx.log(f"restored {previous} (was {failed})")
    ctx.truth("version_restored", version=previous, failed_version=failed, run_id=ctx.run_id, components=components)
    environment = str(ctx.with_.get("environment", "staging"))
    issue = {
        "title": f"Deployment to {environment} rolled back to {previous}",
        "body": f"Health checks failed for {failed} in run {ctx.run_id}; {previous} was restored.",
        "labels": [str(ctx.with_.get("label", "incident"))],
    }
    answer = _github(ctx, "POST", f"/repos/{ctx.env['GITHUB_REPOSITORY']}/issues", issue)
    if answer.status != 201:
        raise StepFailed(f"could not open the incident issue: HTTP {answer.status}")
    number = answer.body.get("number") if isinstance(answer.body, dict) else None
    ctx.log(f"opened incident issue #{number}")
    ctx.set_output("incident_issue", str(number))
