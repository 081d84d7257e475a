"""`verify-staging doctor`: checks an installation against the real world with the bot's own adapters and prints
one line a check; and the short summary a `/verify-staging --dry-run` reply carries."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

import aiohttp

from bot.doctor.database_checks import store_probe
from bot.doctor.result import CheckResult, summary
from bot.doctor.run import CHECK_TIMEOUT, DoctorPorts, diagnose, exit_status
from bot.github.app_info import AppDirectory
from bot.github.client import GitHubAppClient
from bot.reporting.escape import md_text, terminal_text
from bot.runtime.adapters import build_adapters
from bot.runtime.app import jira_port
from bot.settings import Settings
from bot.texts import doctor as texts

#: A dry run waits at most this long per check for the summary (the reply must not hang on an unreachable host).
DRY_RUN_TIMEOUT = 15.0

#: repository -> the Markdown a dry-run reply appends (handlers/context.py `doctor`).
DoctorSummary = Callable[[str], Awaitable[str]]


async def run_doctor(
    settings: Settings, *, github: GitHubAppClient, session: aiohttp.ClientSession, repository: str | None = None,
    timeout: float = CHECK_TIMEOUT,
) -> list[CheckResult]:  # fmt: skip
    """Every check, through adapters built here for this run and closed after it."""
    adapters = build_adapters(settings=settings, session=session)
    ports = DoctorPorts(
        directory=AppDirectory(github),
        github=github,
        ssh=adapters.ssh,
        probe=adapters.probe,
        monitoring=adapters.monitoring,
        jira=jira_port(settings),
        store=store_probe(settings.store_location),
    )
    try:
        return await diagnose(settings, ports, repository=repository, timeout=timeout)
    finally:
        close = getattr(adapters.ssh, "close", None)
        if close is not None:
            await close()


async def doctor_command(settings: Settings, *, out: TextIO = sys.stdout) -> int:
    """The CLI: one line a check on `out`; 0 all passed, 1 a problem found."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        github = _app_client(settings, session)
        results = await run_doctor(settings, github=github, session=session)
    for result in results:
        # What hosts and services answered is in the lines: no escape sequence of theirs reaches the terminal.
        print(terminal_text(result.line), file=out)
    return exit_status(results)


def dry_run_summary(settings: Settings, *, github: GitHubAppClient, session: aiohttp.ClientSession) -> DoctorSummary:
    """What `serve` hands the handlers: the doctor for one repository, bounded by DRY_RUN_TIMEOUT a check."""

    async def summarize(repository: str) -> str:
        results = await run_doctor(
            settings, github=github, session=session, repository=repository, timeout=DRY_RUN_TIMEOUT
        )
        # Runner labels, JIRA statuses and sudo's stderr come from outside: shown as text, never as markup.
        return texts.DRY_RUN_DOCTOR.format(summary=md_text(summary(results)))

    return summarize


def _app_client(settings: Settings, session: aiohttp.ClientSession) -> GitHubAppClient:
    secrets = settings.secrets
    return GitHubAppClient(
        session,
        app_id=secrets.app_id,
        private_key=secrets.private_key,
        api_url=secrets.api_url,
        api_version=settings.github.api_version,
    )
