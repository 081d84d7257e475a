"""A throwaway PostgreSQL for the tests: one cluster per test run, started when a test first needs it (shared by
the xdist workers), a fresh database per test, and stopped when the run ends, failed or not."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.paths import REPO_ROOT

#: The run's cluster directory, made by the controlling pytest process; xdist workers inherit it from its environment.
CLUSTER_DIR_ENV = "VERIFY_STAGING_TEST_POSTGRES_DIR"
SCRIPT = REPO_ROOT / "scripts" / "postgres.sh"
_OWNER = pytest.StashKey[Path]()


def configure(config: pytest.Config) -> None:
    """In the controlling process only: pick the run's cluster directory (nothing starts yet)."""
    if hasattr(config, "workerinput") or CLUSTER_DIR_ENV in os.environ:
        return
    config.stash[_OWNER] = _begin_run()


def unconfigure(config: pytest.Config) -> None:
    """In the controlling process: stop the cluster if a test started one, and remove it."""
    run_dir = config.stash.get(_OWNER, None)
    if run_dir is not None:
        _end_run(run_dir)


@contextlib.contextmanager
def cluster_for_this_process() -> Iterator[None]:
    """Outside pytest (benchmarks): `cluster_url` and the databases below start a cluster on first use, stopped and
    removed when the block ends (nested: the outer block's cluster serves)."""
    if CLUSTER_DIR_ENV in os.environ:
        yield
        return
    run_dir = _begin_run()
    try:
        yield
    finally:
        _end_run(run_dir)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Outside pytest (benchmarks): a fresh database's URL, on this process's cluster (started if needed)."""
    with cluster_for_this_process(), database_for_processes() as url:
        yield url


def _begin_run() -> Path:
    run_dir = Path(tempfile.mkdtemp(prefix="verify-staging-pg-"))
    run_dir.chmod(0o755)  # the server runs as `postgres` when the tests run as root: it must reach its cluster
    os.environ[CLUSTER_DIR_ENV] = str(run_dir)
    return run_dir


def _end_run(run_dir: Path) -> None:
    try:
        if (run_dir / "url").exists():
            stop_cluster(run_dir / "cluster")
    finally:
        os.environ.pop(CLUSTER_DIR_ENV, None)
        shutil.rmtree(run_dir, ignore_errors=True)


def cluster_url() -> str:
    """The URL of the run's cluster (its `verify_staging` database), starting the cluster if no one has yet."""
    run_dir = Path(os.environ[CLUSTER_DIR_ENV])
    url_file = run_dir / "url"
    with (run_dir / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: the first starts it, the others wait and read its URL
        if not url_file.exists():
            url_file.write_text(start_cluster(run_dir / "cluster"))
        return url_file.read_text().strip()


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database on the run's cluster (its URL), dropped afterwards."""
    url = await _create_database()
    try:
        yield url
    finally:
        await _drop_database(url)


@contextlib.contextmanager
def database_for_processes() -> Iterator[str]:
    """`fresh_database` for tests that hand the URL to processes of their own (`serve` replicas), outside any loop."""
    url = asyncio.run(_create_database())
    try:
        yield url
    finally:
        asyncio.run(_drop_database(url))


async def _create_database() -> str:
    base = cluster_url()
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(base)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{base.rsplit('/', 1)[0]}/{name}"


async def _drop_database(url: str) -> None:
    admin = await asyncpg.connect(cluster_url())
    try:
        await admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


def start_cluster(directory: Path) -> str:
    """Start a cluster in `directory` (scripts/postgres.sh); the URL of its `verify_staging` database."""
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(directory)], capture_output=True, text=True, timeout=180, check=False
    )
    if started.returncode != 0:
        raise RuntimeError(f"scripts/postgres.sh start failed: {started.stderr.strip()}")
    return started.stdout.strip()


def stop_cluster(directory: Path) -> None:
    subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], capture_output=True, check=False, timeout=60)
