"""Set-up every test directory shares: the store's two backends (SQLite, and PostgreSQL on a throwaway cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

from bot.store import Store
from tests.support import postgres

# Hypothesis's pytest plugin imports `hypothesis` at the terminal summary when no test did; on CPython 3.11.7 that
# late import, rewritten by pytest, can fail with "SystemError: AST constructor recursion depth mismatch" (the AST
# recursion-depth bookkeeping of 3.11; 3.12 and 3.13 do not) and turn a green run's exit status to 1. Imported here,
# at collection, it never happens late.


def pytest_configure(config: pytest.Config) -> None:
    postgres.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    postgres.unconfigure(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: the tests that wait out minutes of wall time (`long`), then those that start a lab, then the
    rest, each group in its collection order. xdist hands out whole modules in this order, so the long ones start
    at once and the quick ones fill the gaps at the end (longest-processing-time-first scheduling)."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("long") else 1 if item.get_closest_marker("lab") else 2)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Where `Store.open` keeps the store, once per backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "db" / "bot.db")
        return
    async with postgres.fresh_database() as url:
        yield url


@pytest.fixture
async def store(store_location: str) -> AsyncIterator[Store]:
    """An open store on each backend, closed after the test."""
    opened = await Store.open(store_location)
    try:
        yield opened
    finally:
        await opened.close()
