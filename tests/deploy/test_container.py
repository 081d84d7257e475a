"""The container image: hadolint-clean, non-root, healthchecked, and its build commands work in a clean environment.

No Docker engine runs here, so the build stage's own commands are replayed: the files its COPY lines name are
copied into an empty directory and its `uv sync` lines run there into a fresh virtual environment.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, output, run, tool

DOCKERFILE = REPO / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, rest))
    return result


def test_hadolint_is_clean() -> None:
    result = run(tool("hadolint"), DOCKERFILE)
    assert result.returncode == 0, output(result)


def test_image_is_slim_python_311_runs_as_non_root_and_serves() -> None:
    final = stages()[-1]
    assert all(rest.split()[0] == "python:3.11-slim" for keyword, rest in instructions() if keyword == "FROM")
    user = [rest for keyword, rest in final if keyword == "USER"]
    assert user and user[-1].split(":")[0] not in {"0", "root"}
    assert json.loads(dict(final)["CMD"])[:2] == ["verify-staging", "serve"]
    assert "/var/lib/verify-staging" in json.loads(dict(final)["VOLUME"])


def test_healthcheck_asks_healthz_without_curl() -> None:
    healthcheck = dict(stages()[-1])["HEALTHCHECK"]
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert command[0] == "python" and "/healthz" in command[-1]
    assert "curl" not in healthcheck


def test_no_secret_is_baked_into_the_image() -> None:
    for keyword, rest in instructions():
        if keyword in {"ENV", "ARG"}:
            for name in re.findall(r"([A-Z_]+)=", rest):
                assert not re.search(r"SECRET|TOKEN|PASSWORD|PRIVATE_KEY", name), f"{keyword} {name}"
    copied = " ".join(rest for keyword, rest in instructions() if keyword == "COPY")
    assert not re.search(r"\.pem|\.env\b|id_rsa|id_ed25519", copied)


def test_dockerignore_lets_through_exactly_what_the_build_copies() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }  # fmt: skip
    sources = set()
    for keyword, rest in stages()[0]:
        if keyword == "COPY" and "--from" not in rest:
            sources.update(shlex.split(rest)[:-1])
    assert sources == allowed


@pytest.mark.timeout(300)
def test_build_stage_commands_work_in_a_clean_environment(tmp_path: Path) -> None:
    context = tmp_path / "context"
    context.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    env |= {"UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv"), "UV_PYTHON": sys.executable}
    # scripts/install-python-env.sh uses uv from PATH, else installs it into .uv/
    uv = shutil.which("uv") or shutil.which("uv", path=str(REPO / ".uv" / "bin"))
    assert uv, "uv is not installed: run `bash scripts/install-python-env.sh`"
    for keyword, rest in stages()[0]:
        if keyword == "COPY":
            for source in shlex.split(rest)[:-1]:
                path = REPO / source
                assert path.exists(), f"the Dockerfile copies {source}, which is missing from the repository"
                if path.is_dir():
                    shutil.copytree(path, context / source, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(path, context / source)
        elif keyword == "RUN" and rest.startswith("uv "):
            result = run(uv, *shlex.split(rest)[1:], cwd=context, timeout=240, env=env)
            assert result.returncode == 0, f"RUN {rest}\n{output(result)}"
    executable = tmp_path / "venv" / "bin" / "verify-staging"
    for args in (["--help"], ["serve", "--help"]):
        result = run(executable, *args, cwd=tmp_path, env=env)
        assert result.returncode == 0, output(result)
        assert "usage" in result.stdout.lower()
    # The App's image carries neither the lab nor Flask (its stand-in services): `lab` and `demo` say so.
    python = tmp_path / "venv" / "bin" / "python"
    for module in ("flask", "lab"):
        probe = run(python, "-c", f"import importlib.util as u; print(u.find_spec({module!r}) is None)", cwd=tmp_path)
        assert probe.stdout.strip() == "True", f"{module} is installed in the image: {output(probe)}"
    result = run(executable, "lab", cwd=tmp_path, env=env)
    assert result.returncode == 2, output(result)
    assert "verify-staging[lab]" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # Installed, not linked to the build directory: the runtime stage copies only the environment.
    shutil.rmtree(context)
    result = run(executable, "--help", cwd=tmp_path, env=env)
    assert result.returncode == 0, output(result)
