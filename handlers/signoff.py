"""`/sre-signoff approve [comment]`, `/sre-signoff reject <reason>` and `/sre-signoff revise <reason>`: an SRE
completes the seed's sign-off form for the pull request's latest verification; the form goes on the pull request
and into JIRA (approve -> Done, reject -> `jira.statuses.rejected`, revise -> `jira.statuses.needs_revision`).

Same rules as `/verify-staging` for which comments count (handlers/comment_event.py); only members of
`authorization.signoff_team` may sign off, only a finished verification of the current head whose every workflow
run tested that head, and approve only when all five tests passed and (unless `authorization.allow_self_signoff`)
the SRE did not open the pull request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import structlog
from gidgethub import routing

from bot.github.models import PullRequest
from bot.model import Verification, utcnow
from bot.ports import GitHubRepo, JiraError
from bot.reporting import transition_to
from bot.reporting.escape import jira_noformat, md_fence, md_text
from bot.reporting.signoff_form import Outcome, SignOff, not_passed, render_form
from bot.texts import reports as texts
from handlers.command import find_command
from handlers.comment_event import PullRequestComment, comment_command
from handlers.context import HandlerContext

router = routing.Router()
log = structlog.get_logger("handlers.signoff")

COMMAND = "/sre-signoff"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REVISE = "revise"  # the seed form's NEEDS REVISION
    MALFORMED = "malformed"  # answered with the usage


OUTCOMES = {
    Decision.APPROVE: Outcome.APPROVED,
    Decision.REJECT: Outcome.REJECTED,
    Decision.REVISE: Outcome.NEEDS_REVISION,
}
STATUS_TEXTS = {
    Outcome.APPROVED: texts.SIGNOFF_APPROVED,
    Outcome.REJECTED: texts.SIGNOFF_REJECTED,
    Outcome.NEEDS_REVISION: texts.SIGNOFF_NEEDS_REVISION,
}


@dataclass(frozen=True)
class SignoffCommand:
    decision: Decision
    text: str

    @property
    def approve(self) -> bool:
        return self.decision is Decision.APPROVE


def parse_signoff(body: str) -> SignoffCommand | None:
    """The first /sre-signoff line a reader sees (not in code, a quote or an HTML comment), plus the lines after
    it as its text; None when the comment holds none."""
    found = find_command(body, COMMAND, case_sensitive=True)
    if found is None:
        return None
    words = found.line.split(maxsplit=2)
    verb = words[1].lower() if len(words) > 1 else ""
    text = words[2].strip() if len(words) > 2 else ""
    rest = "\n".join(found.rest).strip()
    text = f"{text}\n{rest}".strip() if rest else text
    if verb == "approve":
        return SignoffCommand(Decision.APPROVE, text)
    if verb == "reject" and text:
        return SignoffCommand(Decision.REJECT, text)
    if verb == "revise" and text:
        return SignoffCommand(Decision.REVISE, text)
    return SignoffCommand(Decision.MALFORMED, text)


@router.register("issue_comment", action="created")
@comment_command(parse_signoff)
async def on_signoff_comment(
    ctx: HandlerContext, comment: PullRequestComment, command: SignoffCommand, repo: GitHubRepo
) -> None:
    await repo.add_reaction(comment.comment_id, "eyes")
    refusal = await _sign_off(ctx, repo, comment, command)
    if refusal is not None:
        log.info("sign-off refused", user=comment.user, pull_request=comment.issue_number)
        await repo.create_comment(comment.issue_number, refusal)


async def _sign_off(
    ctx: HandlerContext, repo: GitHubRepo, comment: PullRequestComment, command: SignoffCommand
) -> str | None:
    """Carry out the sign-off; None when done, else the sentence that says why not (nothing was changed)."""
    user = comment.user
    team = ctx.settings.authorization.signoff_team
    if team is None:
        return texts.SIGNOFF_NO_TEAM.format(user=user)
    org, slug = team.split("/", 1)
    if not await repo.is_team_member(org=org, team=slug, user=user):
        return texts.SIGNOFF_NOT_MEMBER.format(user=user, team=team)
    if command.decision is Decision.MALFORMED:
        return texts.SIGNOFF_USAGE.format(user=user)
    latest = await ctx.store.latest_verification(repository=comment.repository, pull_request=comment.issue_number)
    if latest is None:
        return texts.SIGNOFF_NO_VERIFICATION.format(user=user)
    if latest.completed_at is None:
        return texts.SIGNOFF_STILL_RUNNING.format(user=user, verification_id=latest.verification_id)
    pull = await repo.get_pull_request(comment.issue_number)
    if pull.head_sha != latest.head_sha:
        return texts.SIGNOFF_STALE.format(
            user=user, head=pull.head_sha[:7], verification_id=latest.verification_id, sha=latest.head_sha[:7]
        )
    other_commit = _run_on_other_commit(latest, pull, user=user)
    if other_commit is not None:
        return other_commit
    if command.approve and pull.author == user and not ctx.settings.authorization.allow_self_signoff:
        return texts.SIGNOFF_SELF.format(user=user, team=team)
    failed = not_passed(latest)
    if command.approve and failed:
        return texts.SIGNOFF_NOT_ALL_PASSED.format(
            user=user, verification_id=latest.verification_id, failed=", ".join(failed)
        )
    outcome = OUTCOMES[command.decision]
    signoff = SignOff(outcome=outcome, engineer=user, comment=command.text, at=utcnow())
    form = render_form(latest, signoff)
    status = STATUS_TEXTS[outcome]
    body = texts.SIGNOFF_COMMENT.format(
        status=status, verification_id=latest.verification_id, sha=latest.head_sha[:7], form=form, fence=md_fence(form)
    )
    issue = latest.jira.issue if latest.jira is not None else ctx.settings.jira.issue
    jira_error = await _record_in_jira(ctx, issue, status=status, form=form, outcome=outcome)
    if jira_error:
        body += texts.SIGNOFF_JIRA_FAILED.format(error=md_text(jira_error))
    await repo.create_comment(comment.issue_number, body)
    log.info("signed off", user=user, outcome=outcome.value, verification=latest.verification_id)
    return None


def _run_on_other_commit(verification: Verification, pull: PullRequest, *, user: str) -> str | None:
    """The refusal when a run of the verification did not test the pull request's head: a run without a recorded
    commit proves nothing about it either."""
    for scenario in verification.scenarios:
        for run in scenario.runs:
            if run.head_sha != pull.head_sha:
                return texts.SIGNOFF_RUN_OTHER_COMMIT.format(
                    user=user,
                    run_id=run.run_id,
                    verification_id=verification.verification_id,
                    observed=run.head_sha or "no recorded commit",
                    head=pull.head_sha,
                )
    return None


async def _record_in_jira(
    ctx: HandlerContext, issue: str | None, *, status: str, form: str, outcome: Outcome
) -> str | None:
    """Comment the form and move the issue (Done, the rejected or the needs-revision status); the error text if
    JIRA failed."""
    if ctx.jira is None or issue is None:
        return None
    statuses = ctx.settings.jira.statuses
    try:
        await ctx.jira.add_comment(issue, texts.SIGNOFF_JIRA.format(status=status, form=jira_noformat(form)))
        target = {
            Outcome.APPROVED: statuses.done,
            Outcome.REJECTED: statuses.rejected,
            Outcome.NEEDS_REVISION: statuses.needs_revision,
        }[outcome]
        await transition_to(ctx.jira, issue, target)
    except JiraError as exc:
        log.warning("sign-off not recorded in jira", issue=issue, error=str(exc))
        return str(exc)
    return None
