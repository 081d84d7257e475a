"""Shared helpers for the deployment-file checks: where the files are, and the outside tools that check them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RUNBOOKS = REPO / "docs" / "runbooks"
#: The venv running these tests (.venv, or .venv-3.X of scripts/test-interpreters.sh): its tools and entry points.
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The path of a checking tool that scripts/install-system-packages.sh installs; missing fails the test."""
    for candidate in (VENV_BIN / name, REPO / "tools" / "node_modules" / ".bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `bash scripts/install-system-packages.sh`")
    return found


def run(
    *args: str | Path, cwd: Path = REPO, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs a checking tool and returns its result; the caller asserts on returncode with the output shown."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
