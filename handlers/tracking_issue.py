"""The one issue per environment where scheduled verifications report: found by its label and title, opened when
there is none (the App has `issues: write`)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.ports import GitHubRepo
from bot.texts import schedule as texts

#: `since` for the issues list: every labelled issue, however long ago it was last updated.
_EVER = datetime(2008, 1, 1, tzinfo=UTC)


async def tracking_issue(repo: GitHubRepo, *, environment: str, cron: str) -> int:
    """The number of the environment's open tracking issue, opening one when there is none.

    A closed one is not reused: whoever closed it wanted it gone, so the next run opens a fresh one.
    """
    title = texts.TRACKING_TITLE.format(environment=environment)
    for issue in await repo.list_issues(labels=[texts.TRACKING_LABEL], since=_EVER):
        # The issues list includes pull requests (GitHub: "every pull request is an issue").
        if not issue.is_pull_request and issue.state == "open" and issue.title == title:
            return issue.number
    body = texts.TRACKING_BODY.format(environment=environment, cron=cron)
    return await repo.create_issue(title=title, body=body, labels=[texts.TRACKING_LABEL])
