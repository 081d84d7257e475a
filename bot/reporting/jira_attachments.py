"""The evidence a verification leaves on its JIRA issue: report.md, verification.json and the timeline picture (SVG,
and PNG for JIRA's preview), the same files the demo writes to its report directory, each named with the
verification id.

A re-run replaces its own earlier files and never anyone else's. "Its own" means: uploaded by the JIRA user the
bot acts as, AND named after a verification of the same pull request (the store knows which ids those are). A file
a person attached, or one of another pull request's verifications, is never touched, even when it looks alike.
The new files are uploaded before the old ones are deleted, so a JIRA outage half-way leaves the old set in place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.model import Verification
from bot.ports import JiraAttachment, JiraPort
from bot.reporting.report_dir import REPORT_JSON, REPORT_MD, TIMELINE_PNG, TIMELINE_SVG, report_json
from bot.reporting.timeline import timeline_png, timeline_svg

NAME_PREFIX = "verify-staging-"


class VerificationIndex(Protocol):
    """Which verifications a pull request has had (bot.store.Store answers it)."""

    async def verification_ids(self, *, repository: str, pull_request: int) -> list[str]: ...


@dataclass(frozen=True)
class AttachmentFile:
    """A file to attach: its name is known when the results comment links it, its content is rendered when it is
    uploaded (after the final PR comment, which report.md is)."""

    filename: str
    render: Callable[[], bytes]


def attachment_name(verification_id: str, name: str) -> str:
    """`verify-staging-<verification id>-<name>`: the id tells whose file it is and which run it shows."""
    return f"{NAME_PREFIX}{verification_id}-{name}"


def attachment_files(v: Verification, *, report_md: Callable[[], str]) -> list[AttachmentFile]:
    """Every file attached at the end of a verification, in the order the JIRA comment links them; the one list
    to extend with a new kind of evidence."""
    vid = v.verification_id
    return [
        AttachmentFile(attachment_name(vid, REPORT_MD), lambda: report_md().encode("utf-8")),
        AttachmentFile(attachment_name(vid, REPORT_JSON), lambda: report_json(v).encode("utf-8")),
        AttachmentFile(attachment_name(vid, TIMELINE_SVG), lambda: timeline_svg(v).encode("utf-8")),
        AttachmentFile(attachment_name(vid, TIMELINE_PNG), lambda: timeline_png(v)),
    ]


def replaced_by_rerun(attachment: JiraAttachment, *, earlier: Collection[str]) -> bool:
    """True for a file this bot uploaded for one of the `earlier` verifications (of the same pull request)."""
    return attachment.mine and any(attachment.filename.startswith(attachment_name(vid, "")) for vid in earlier)


async def attach_files(
    jira: JiraPort, key: str, files: Sequence[AttachmentFile], *, verification_id: str, earlier: Collection[str]
) -> list[str]:
    """Upload `files`, then delete the earlier verifications' own files; the names now attached.

    Safe to call again after a failure: a file already uploaded by an earlier attempt (same name, same size, ours)
    is kept rather than sent twice; one that arrived incomplete is replaced.
    """
    present = await jira.attachments(key)
    attached: list[str] = []
    for file in files:
        # Drawing the timeline takes a moment of CPU: never on the event loop that takes the webhooks.
        content = await asyncio.to_thread(file.render)
        same = [a for a in present if a.mine and a.filename == file.filename]
        if any(a.size == len(content) for a in same):
            attached.append(file.filename)
            continue
        for stale in same:
            await jira.delete_attachment(stale.id)
        await jira.add_attachment(key, filename=file.filename, content=content)
        attached.append(file.filename)
    others = set(earlier) - {verification_id}
    for old in present:
        if replaced_by_rerun(old, earlier=others):
            await jira.delete_attachment(old.id)
    return attached
