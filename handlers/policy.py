"""Who may start a verification, and on what: the one policy a `/verify-staging` comment, a check run's re-run
button and any later trigger all go through, so they refuse, wait and answer alike.

`start_verification` is the whole path: acknowledge, find the repository's environment, authorize the person,
refuse forks and closed pull requests, show the plan of a dry run, refuse while the environment is busy, then hand
the request to the engine; every refusal and failure is replied to the person who asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import structlog

from bot.accounting import open_tally
from bot.github.models import PullRequest, branch_ref
from bot.model import ScenarioId, Trigger
from bot.permissions import has_at_least
from bot.ports import GitHubError, GitHubRepo, VerificationRequest
from bot.reporting import html_base
from bot.reporting.comment_render import conversation_url
from bot.reporting.escape import md_text
from bot.settings import JIRA_KEY, AuthorizationSettings, EnvironmentSettings, JiraSettings
from bot.texts import commands as texts
from handlers.context import HandlerContext
from handlers.plan import render_plan

log = structlog.get_logger("handlers.policy")


class Reply(Protocol):
    """How the person who asked hears back."""

    async def acknowledge(self) -> None:
        """Show that the request was seen, before any answer."""

    async def say(self, text: str) -> None:
        """Answer them."""


@dataclass(frozen=True)
class PullRequestReply:
    """Answers as comments on the pull request; a request made by a comment is acknowledged with 👀 on it."""

    repo: GitHubRepo
    pull_request: int
    comment_id: int | None = None

    async def acknowledge(self) -> None:
        if self.comment_id is not None:
            await self.repo.add_reaction(self.comment_id, "eyes")

    async def say(self, text: str) -> None:
        await self.repo.create_comment(self.pull_request, text)


async def authorize(
    repo: GitHubRepo, auth: AuthorizationSettings, *, user: str, scenarios: tuple[ScenarioId, ...] = ()
) -> str | None:
    """None when `user` may run these scenarios, else the refusal to reply with."""
    permission = await repo.get_permission(user)
    if not has_at_least(permission, auth.minimum_permission):
        return texts.NOT_AUTHORIZED.format(user=user, minimum=auth.minimum_permission, permission=permission)
    for scenario in scenarios:
        team = auth.scenario_teams.get(scenario)
        if team is None:
            continue
        org, slug = team.split("/", 1)
        if not await repo.is_team_member(org=org, team=slug, user=user):
            return texts.NOT_IN_TEAM.format(user=user, scenario=scenario.value, team=team)
    return None


#: A key anywhere in a title or branch, not glued to a longer word or number (`XINFRA-1`, `INFRA-12a`).
_KEY_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9])(?:{JIRA_KEY.pattern})(?![A-Za-z0-9])")


def jira_issue_for(pull: PullRequest, jira: JiraSettings) -> str | None:
    """The first key of a configured project in the PR title, else in the branch name, else the configured issue.

    The PR's author writes its title and branch: a key of another project is ignored, never commented on.
    """
    allowed = jira.allowed_projects
    for text in (pull.title, pull.head_ref):
        for match in _KEY_IN_TEXT.finditer(text):
            if match.group(0).rsplit("-", 1)[0] in allowed:
                return match.group(0)
    return jira.issue


async def configured_environment(ctx: HandlerContext, *, repository: str, reply: Reply) -> EnvironmentSettings | None:
    """The environment `repository` verifies; None, after telling the person so, when it has none."""
    environment = ctx.settings.environment_for(repository)
    if environment is None:
        await reply.say(texts.NOT_CONFIGURED.format(repository=repository))
    return environment


@dataclass(frozen=True)
class ScheduledTarget:
    """What a schedule verifies: a branch's head commit. The settings file authorizes it, not a person."""

    ref: str  # refs/heads/<branch>
    head_sha: str
    tracking_issue: int | None  # where its comment goes (None: nowhere, when the issue could not be had)


@dataclass(frozen=True)
class _Subject:
    """The commit a verification is to verify, and what is known about why."""

    head_sha: str
    ref: str
    jira_issue: str | None
    title: str | None


async def start_verification(
    ctx: HandlerContext,
    *,
    requested_by: str,
    repository: str,
    installation_id: int,
    reply: Reply,
    scenarios: tuple[ScenarioId, ...],
    pull_request: int = 0,
    dry_run: bool = False,
    comment_id: int | None = None,
    trigger: Trigger = Trigger.COMMENT,
    scheduled: ScheduledTarget | None = None,
) -> None:
    """Start a verification of `scenarios` on the pull request's current head for `requested_by` (or, `scheduled`,
    on a branch's head for the schedule), or tell them why not (`dry_run`: tell them the plan instead).
    `comment_id` is the comment that asked, if one did."""
    # Everything from here on is on behalf of the verification this may start: count it.
    open_tally()
    await reply.acknowledge()
    environment = await configured_environment(ctx, repository=repository, reply=reply)
    if environment is None:
        return
    repo = ctx.github.repo(installation_id=installation_id, repository=repository)
    if scheduled is None:
        subject = await _pull_request_subject(
            ctx, repo, environment, user=requested_by, pull_request=pull_request, scenarios=scenarios, reply=reply
        )
        if subject is None:
            return
    else:
        subject = _Subject(scheduled.head_sha, scheduled.ref, jira_issue=ctx.settings.jira.issue, title=None)
        pull_request, trigger = 0, Trigger.SCHEDULE
    if dry_run:
        plan = render_plan(
            settings=ctx.settings, environment=environment, scenarios=scenarios, ref=subject.ref,
            head_sha=subject.head_sha,
        )  # fmt: skip
        if ctx.doctor is not None:
            plan += await ctx.doctor(repository)
        await reply.say(plan)
        return
    running = ctx.engine.running(environment.name)
    if running is not None:
        await reply.say(await _already_running(ctx, user=requested_by, environment=environment, running=running))
        return
    request = VerificationRequest(
        verification_id=ctx.new_id(),
        installation_id=installation_id,
        repository=repository,
        pull_request=pull_request,
        head_sha=subject.head_sha,
        ref=subject.ref,
        environment=environment.name,
        requested_by=requested_by,
        scenarios=scenarios,
        jira_issue=subject.jira_issue,
        comment_id=comment_id,
        title=subject.title,
        trigger=trigger,
        tracking_issue=scheduled.tracking_issue if scheduled is not None else None,
    )
    # The engine's task copies this context: its log lines carry the verification id too.
    with structlog.contextvars.bound_contextvars(verification=request.verification_id):
        try:
            await ctx.engine.start(request)
        except (GitHubError, OSError, RuntimeError, ValueError) as exc:  # EngineBusy is a RuntimeError
            log.error("verification not started", error=str(exc))
            await reply.say(
                texts.START_FAILED.format(
                    user=requested_by, verification_id=request.verification_id, error=md_text(exc)
                )
            )
            return
        log.info("verification accepted", scenarios=[s.value for s in scenarios], trigger=trigger.value)


async def _pull_request_subject(
    ctx: HandlerContext,
    repo: GitHubRepo,
    environment: EnvironmentSettings,
    *,
    user: str,
    pull_request: int,
    scenarios: tuple[ScenarioId, ...],
    reply: Reply,
) -> _Subject | None:
    """The pull request's head, when `user` may verify it; None after telling them why not."""
    refusal = await authorize(repo, ctx.settings.authorization, user=user, scenarios=scenarios)
    if refusal is not None:
        log.info("command refused", reason="permission", user=user)
        await reply.say(refusal)
        return None
    pull = await repo.get_pull_request(pull_request)
    refusal = _pull_request_refusal(pull, user=user)
    if refusal is not None:
        await reply.say(refusal)
        return None
    ref = branch_ref(environment.workflow.ref or pull.head_ref)
    return _Subject(pull.head_sha, ref, jira_issue=jira_issue_for(pull, ctx.settings.jira), title=pull.title)


def _pull_request_refusal(pull: PullRequest, *, user: str) -> str | None:
    """Why this pull request may not be verified: a fork's code would reach staging; a closed one merges nothing."""
    if pull.from_fork:
        log.info("command refused", reason="fork", head_repo=pull.head_repo)
        head_repo = pull.head_repo or "a deleted fork"
        return texts.FORK_REFUSED.format(user=user, head_repo=head_repo, base_repo=pull.base_repo)
    if pull.state != "open":
        return texts.PR_CLOSED.format(user=user, state=pull.state)
    return None


async def _already_running(ctx: HandlerContext, *, user: str, environment: EnvironmentSettings, running: str) -> str:
    """The refusal while `running` holds the environment, with a link to the pull request it verifies."""
    verification = await ctx.store.load_verification(running)
    url = conversation_url(html_base(ctx.settings.secrets.api_url), verification) if verification else None
    if verification is None or url is None:
        link = "another pull request"
    else:  # a scheduled verification's number is its environment's tracking issue
        link = f"[{verification.repository}#{verification.conversation}]({url})"
    return texts.ALREADY_RUNNING.format(user=user, environment=environment.name, verification_id=running, link=link)
