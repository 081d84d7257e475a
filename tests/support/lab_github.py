"""The simulated GitHub alone, in the test's own event loop, for tests of the bot against GitHub's web and REST faces
(the App-manifest flow of `verify-staging register`): no runners, no workflows, no webhooks.

async with lab_github(tmp_path) as github:
    github.url                     # its web pages and REST API (one origin, no /api/v3 prefix)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from lab.github.config import SimConfig
from lab.github.server import RunningGitHub, start_github
from lab.truth import Truth
from tests.support.keys import rsa_key

OWNER = "register-org"


@contextlib.asynccontextmanager
async def lab_github(directory: Path) -> AsyncIterator[RunningGitHub]:
    config = SimConfig(
        workdir=directory / "github",
        truth=Truth(directory / "lab-truth.jsonl"),
        app_id=4242,
        app_slug="lab-app",
        app_public_key_pem=rsa_key().public_pem,
        installation_id=1001,
        webhook_secret="unused-in-these-tests",
        repository=f"{OWNER}/service",
    )
    github = await start_github(config)
    try:
        yield github
    finally:
        await github.stop()
