"""The doctor's JIRA check: the default issue readable, and the status a verification moves it to first reachable
by one of the transitions JIRA offers from where the issue is now."""

from __future__ import annotations

from bot.doctor.result import CheckResult, ok, problem
from bot.ports import JiraError, JiraPort
from bot.settings import JiraSettings
from bot.texts import doctor as texts


async def check_jira(jira: JiraPort | None, settings: JiraSettings) -> list[CheckResult]:
    key = settings.issue
    if jira is None or key is None:
        return [ok(texts.JIRA_OFF)]
    try:
        status = await jira.status(key)
        offered = await jira.transitions(key)
    except JiraError as exc:
        return [problem(texts.JIRA_ISSUE_WHAT.format(key=key), texts.JIRA_ISSUE_FIX.format(error=exc))]
    results = [ok(texts.JIRA_ISSUE.format(key=key, status=status))]
    # JIRA lists only the transitions of the issue's current status (REST v2 GET issue/{key}/transitions), so the
    # statuses after the first are seen only once the issue is there; the first is what every verification needs.
    target = settings.statuses.in_progress
    targets = [t.to_status for t in offered]
    what = texts.JIRA_STATUS_WHAT.format(key=key, target=target)
    if status.casefold() == target.casefold() or target.casefold() in {t.casefold() for t in targets}:
        results.append(ok(texts.JIRA_STATUS.format(key=key, target=target, status=status)))
    else:
        fix = texts.JIRA_STATUS_FIX.format(
            status=status, offered=", ".join(targets) or texts.NONE, setting="in_progress"
        )
        results.append(problem(what, fix))
    return results
