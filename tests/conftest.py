"""Set-up every test directory shares: the store's two backends (SQLite, and PostgreSQL on a throwaway cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.support import postgres


def pytest_configure(config: pytest.Config) -> None:
    postgres.configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    postgres.unconfigure(config)


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
