"""Keeps the JIRA issue up to date: a comment and "in progress" at the start; at the end the results comment
(linking the report files by name), "awaiting sign-off" when everything passed, then the files attached. JIRA being
down never fails a verification: each call is retried a few times and what could not be done is recorded in
`Verification.jira.error`.

The end comes in two parts because the attached report.md is the final PR comment, and that comment shows what
JIRA did: the results comment and the status change come before the check runs and the PR comment are final
(`finished`, so JIRA holds the results once GitHub shows the verdict), the files after them
(`JiraAttachmentsReporter`). Jira resolves a `[^name]` link by file name when the comment is shown, so the links
work from the moment the files are there, including when they are sent again after an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from bot.model import JiraReport, Trigger, Verification, VerificationConclusion
from bot.ports import Clock, JiraError, JiraPort, ProgressEvent
from bot.reporting.comment_render import conversation_url, render_comment
from bot.reporting.jira_attachments import AttachmentFile, VerificationIndex, attach_files, attachment_files
from bot.reporting.jira_render import finished_comment, started_comment
from bot.settings import JiraStatuses
from bot.texts import reports as texts

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0)


class TransitionUnavailable(JiraError):
    """The issue offers no transition to the wanted status (a workflow mismatch: retrying will not help)."""


async def transition_to(jira: JiraPort, key: str, target: str) -> bool:
    """Move the issue to the status named `target`; False when it is already there. Chosen by target status name
    among the transitions the issue offers now, never by a hard-coded id (ids differ between JIRA workflows)."""
    if (await jira.status(key)).casefold() == target.casefold():
        return False
    offered = await jira.transitions(key)
    for transition in offered:
        if transition.to_status.casefold() == target.casefold():
            await jira.do_transition(key, transition.id)
            return True
    names = ", ".join(f"{tr.name} -> {tr.to_status}" for tr in offered) or "none"
    raise TransitionUnavailable(texts.JIRA_TRANSITION_MISSING.format(key=key, target=target, offered=names))


async def with_retries(clock: Clock, what: Callable[[], Awaitable[T]], delays: tuple[float, ...] = RETRY_DELAYS) -> T:
    """Call `what`, retrying JIRA failures after each delay; the last failure is raised."""
    for delay in delays:
        try:
            return await what()
        except TransitionUnavailable:
            raise
        except JiraError as exc:
            log.info("jira call failed, retrying", error=str(exc), delay=delay)
            await clock.sleep(delay)
    return await what()


def jira_report_for(*, requested: str | None, default: str | None) -> JiraReport | None:
    """The JIRA issue a verification reports to: the one named by the request (PR title/branch), else settings."""
    key = requested or default
    return JiraReport(issue=key) if key else None


class JiraReporter:
    """bot.ports.Reporter for the JIRA issue. Start-up work runs in the background so a slow JIRA delays nothing."""

    def __init__(
        self,
        *,
        jira: JiraPort,
        clock: Clock,
        statuses: JiraStatuses,
        default_issue: str | None,
        base_url: str,
        signoff_team: str | None = None,
        verifications: VerificationIndex | None = None,
    ) -> None:
        self._jira = jira
        self._signoff_team = signoff_team
        self._verifications = verifications
        self._clock = clock
        self._statuses = statuses
        self._default_issue = default_issue
        self._base_url = base_url
        self._starting: dict[str, asyncio.Task[None]] = {}

    async def started(self, verification: Verification) -> None:
        if verification.jira is None:
            verification.jira = jira_report_for(requested=None, default=self._default_issue)
        report = verification.jira
        if report is None:
            return
        self._starting[verification.verification_id] = asyncio.create_task(self._start(verification, report))

    async def progress(self, event: ProgressEvent) -> None:
        return None

    async def finished(self, verification: Verification) -> None:
        task = self._starting.pop(verification.verification_id, None)
        if task is not None:
            with contextlib.suppress(Exception):
                await task
        report = verification.jira
        if report is None:
            return
        url = conversation_url(self._base_url, verification) or f"{self._base_url}/{verification.repository}"
        names = [f.filename for f in self._files(verification)]
        body = finished_comment(verification, pull_request_url=url, attachments=names)
        await self._step(report, "results comment", lambda: self._comment(report, body))
        # A scheduled verification reports on the issue but moves it nowhere: no change awaits sign-off.
        if verification.conclusion is VerificationConclusion.SUCCESS and verification.trigger is not Trigger.SCHEDULE:
            target = self._statuses.awaiting_signoff
            await self._step(report, f"transition to {target}", lambda: self._move(report, target))

    async def attach(self, verification: Verification) -> None:
        """Attach the report files (after the final PR comment: report.md is its text)."""
        report = verification.jira
        if report is None:
            return
        files = self._files(verification)
        earlier = await self._earlier(verification)

        async def attach() -> None:
            report.attachments = await attach_files(
                self._jira, report.issue, files, verification_id=verification.verification_id, earlier=earlier
            )

        await self._step(report, "attachments", attach)

    def _files(self, verification: Verification) -> list[AttachmentFile]:
        def report_md() -> str:
            return render_comment(verification, base_url=self._base_url, signoff_team=self._signoff_team)

        return attachment_files(verification, report_md=report_md)

    async def _earlier(self, verification: Verification) -> list[str]:
        """The pull request's verifications whose attachments a re-run replaces (none known without a store)."""
        if self._verifications is None:
            return [verification.verification_id]
        try:
            return await self._verifications.verification_ids(
                repository=verification.repository, pull_request=verification.pull_request
            )
        except Exception as exc:  # without the list nothing is replaced: old files stay, none is lost
            log.warning("earlier verifications unknown", error=str(exc))
            return [verification.verification_id]

    async def _start(self, verification: Verification, report: JiraReport) -> None:
        body = started_comment(verification)
        await self._step(report, "start comment", lambda: self._comment(report, body))
        if verification.trigger is Trigger.SCHEDULE:
            return
        target = self._statuses.in_progress
        await self._step(report, f"transition to {target}", lambda: self._move(report, target))

    async def _comment(self, report: JiraReport, body: str) -> None:
        report.comment_id = await self._jira.add_comment(report.issue, body)

    async def _move(self, report: JiraReport, target: str) -> None:
        if await transition_to(self._jira, report.issue, target):
            report.transitions.append(target)

    async def _step(self, report: JiraReport, what: str, call: Callable[[], Awaitable[None]]) -> None:
        try:
            await with_retries(self._clock, call)
        except Exception as exc:  # JIRA's trouble is reported, never the verification's
            message = f"{what}: {exc}"
            report.error = message if not report.error else f"{report.error}; {message}"
            log.warning("jira update failed", issue=report.issue, step=what, error=str(exc))


class JiraAttachmentsReporter:
    """bot.ports.Reporter whose `finished` is the JIRA reporter's last part (the attachments): it finishes after
    the PR comment, whose final text is the attached report.md."""

    def __init__(self, jira_reporter: JiraReporter) -> None:
        self._jira_reporter = jira_reporter

    async def started(self, verification: Verification) -> None:
        return None

    async def progress(self, event: ProgressEvent) -> None:
        return None

    async def finished(self, verification: Verification) -> None:
        await self._jira_reporter.attach(verification)
