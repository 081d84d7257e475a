"""`verify-staging jira-attach <verification id>`: sends a finished verification's report files to its JIRA issue
again (after JIRA was down at the end), from the stored verification, replacing as a re-run does."""

from __future__ import annotations

from bot.adapters.clock import SystemClock
from bot.model import Verification
from bot.ports import Clock, JiraPort
from bot.reporting import JiraReporter, html_base
from bot.runtime.app import jira_port
from bot.settings import Settings
from bot.store import Store
from bot.texts import reports as texts


async def resend_attachments(
    *, settings: Settings, store: Store, jira: JiraPort, clock: Clock, verification_id: str
) -> tuple[bool, str]:
    """(done, the sentence to print). The verification's record gets the attached names, or the new error added to
    `jira.error` (earlier errors stay: they are its history). report.md is rendered from the stored verification,
    so its JIRA line shows the outage the files were held back by."""
    v: Verification | None = await store.load_verification(verification_id)
    if v is None:
        return False, texts.JIRA_RESEND_UNKNOWN.format(verification_id=verification_id)
    if v.completed_at is None or v.jira is None:
        return False, texts.JIRA_RESEND_NOTHING.format(verification_id=verification_id)
    before = v.jira.error
    reporter = JiraReporter(
        jira=jira,
        clock=clock,
        statuses=settings.jira.statuses,
        default_issue=settings.jira.issue,
        base_url=html_base(settings.secrets.api_url),
        signoff_team=settings.authorization.signoff_team,
        verifications=store,
    )
    await reporter.attach(v)
    await store.save_verification(v)
    if v.jira.error != before:
        return False, texts.JIRA_RESEND_FAILED.format(verification_id=verification_id, error=v.jira.error)
    return True, texts.JIRA_RESEND_DONE.format(issue=v.jira.issue, names=", ".join(v.jira.attachments))


async def resend_from_settings(settings: Settings, verification_id: str) -> tuple[bool, str]:
    """The CLI's entry: the configured JIRA and store."""
    jira = jira_port(settings)
    if jira is None:
        return False, texts.JIRA_RESEND_NO_JIRA
    store = await Store.open(settings.store_location)
    try:
        return await resend_attachments(
            settings=settings, store=store, jira=jira, clock=SystemClock(), verification_id=verification_id
        )
    finally:
        await store.close()
