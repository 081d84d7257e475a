"""Reports where people look: check runs on the head commit, one PR comment, the JIRA issue, the report dir.

`build_reporter()` is the one entry point: it composes the check-run, PR-comment and JIRA reporters (plus any
extra, such as the demo's terminal view) into one bot.ports.Reporter.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.ports import Clock, GitHubApp, JiraPort, Reporter
from bot.reporting.check_runs import CheckRunReporter, external_id, parse_external_id
from bot.reporting.comment import CommentReporter
from bot.reporting.comment_render import html_base, render_comment
from bot.reporting.composite import CompositeReporter
from bot.reporting.jira import JiraAttachmentsReporter, JiraReporter, jira_report_for, transition_to
from bot.reporting.jira_attachments import VerificationIndex
from bot.reporting.report_dir import write_report_dir
from bot.settings import Settings

#: Seconds between two progress updates of one check run or comment (the final state is always sent at once).
#: Five scenarios then cost about 35 GitHub requests of reporting.
DEFAULT_MIN_INTERVAL = 6.0

__all__ = [
    "CheckRunReporter",
    "CommentReporter",
    "CompositeReporter",
    "JiraReporter",
    "build_reporter",
    "external_id",
    "html_base",
    "jira_report_for",
    "parse_external_id",
    "render_comment",
    "transition_to",
    "write_report_dir",
]


def build_reporter(
    *,
    settings: Settings,
    github: GitHubApp,
    jira: JiraPort | None,
    clock: Clock,
    extra: Sequence[Reporter] = (),
    min_interval: float = DEFAULT_MIN_INTERVAL,
    verifications: VerificationIndex | None = None,
) -> CompositeReporter:
    base_url = html_base(settings.secrets.api_url)
    checks = CheckRunReporter(
        github=github, clock=clock, min_interval=min_interval, public_url=settings.server.public_url
    )
    comment = CommentReporter(
        github=github,
        clock=clock,
        min_interval=min_interval,
        base_url=base_url,
        signoff_team=settings.authorization.signoff_team,
    )
    reporters: list[Reporter] = [checks, comment]
    finish_first: list[Reporter] = []
    finish_after_comment: list[Reporter] = []
    if jira is not None:
        jira_reporter = JiraReporter(
            jira=jira,
            clock=clock,
            statuses=settings.jira.statuses,
            default_issue=settings.jira.issue,
            base_url=base_url,
            signoff_team=settings.authorization.signoff_team,
            verifications=verifications,
        )
        reporters.append(jira_reporter)
        finish_first.append(jira_reporter)
        # Attached after the PR comment: report.md is that comment's final text.
        finish_after_comment.append(JiraAttachmentsReporter(jira_reporter))
    reporters.extend(extra)
    finish_order = [*finish_first, checks, comment, *finish_after_comment, *extra]
    return CompositeReporter(reporters, finish_order=finish_order)
