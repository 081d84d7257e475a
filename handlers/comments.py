"""The `/verify-staging` pull-request command: acknowledge, authorize, refuse or hand the verification to the engine.

`should_handle_comment()` and `authorize()` are public so other commands (`/sre-signoff`) apply the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from gidgethub import routing, sansio

from bot.accounting import open_tally
from bot.github.models import PullRequest, branch_ref, parses
from bot.model import SCENARIO_ORDER, ScenarioId
from bot.ports import GitHubError, GitHubRepo, VerificationRequest
from bot.reporting import html_base
from bot.reporting.escape import md_text
from bot.settings import JIRA_KEY, AuthorizationSettings, EnvironmentSettings, JiraSettings
from bot.texts import commands as texts
from bot.texts.reports import SCENARIO_VERDICT
from handlers.command import Command, CommandKind, parse_command
from handlers.context import HandlerContext
from handlers.cooldown import Admission
from handlers.plan import render_plan

router = routing.Router()
log = structlog.get_logger("handlers.comments")

#: Highest first; `maintain` and `triage` sit between the legacy admin/write/read levels.
PERMISSION_ORDER: tuple[str, ...] = ("admin", "maintain", "write", "triage", "read", "none")


@dataclass(frozen=True)
class PullRequestComment:
    """The fields of an `issue_comment` delivery the commands read."""

    action: str
    repository: str
    installation_id: int | None
    issue_number: int
    on_pull_request: bool
    comment_id: int
    body: str
    user: str
    user_type: str

    @classmethod
    @parses("issue_comment delivery")
    def from_payload(cls, data: Mapping[str, Any]) -> PullRequestComment:
        comment, issue = data["comment"], data["issue"]
        installation = data.get("installation") or {}
        user = comment.get("user") or data.get("sender") or {}
        return cls(
            action=str(data.get("action") or ""),
            repository=str(data["repository"]["full_name"]),
            installation_id=int(installation["id"]) if installation.get("id") is not None else None,
            issue_number=int(issue["number"]),
            # GitHub marks a pull request's conversation by an `issue.pull_request` object.
            on_pull_request=bool(issue.get("pull_request")),
            comment_id=int(comment["id"]),
            body=str(comment.get("body") or ""),
            user=str(user.get("login") or ""),
            user_type=str(user.get("type") or ""),
        )


def is_bot(*, login: str, user_type: str) -> bool:
    """Apps (this one included) comment as `name[bot]` with type Bot; their comments are never commands."""
    return user_type == "Bot" or login.endswith("[bot]")


def should_handle_comment(comment: PullRequestComment) -> bool:
    """A newly created comment on a pull request, by a person, through an installation."""
    return (
        comment.action == "created"
        and comment.on_pull_request
        and comment.installation_id is not None
        and not is_bot(login=comment.user, user_type=comment.user_type)
    )


def permission_at_least(permission: str, minimum: str) -> bool:
    rank = {name: i for i, name in enumerate(PERMISSION_ORDER)}
    return rank.get(permission, len(PERMISSION_ORDER)) <= rank[minimum]


async def authorize(
    repo: GitHubRepo, auth: AuthorizationSettings, *, user: str, scenarios: tuple[ScenarioId, ...] = ()
) -> str | None:
    """None when `user` may run these scenarios, else the refusal to reply with."""
    permission = await repo.get_permission(user)
    if not permission_at_least(permission, auth.minimum_permission):
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


def help_text(auth: AuthorizationSettings, problem: str | None = None) -> str:
    teams = "".join(
        texts.HELP_TEAMS.format(scenario=f"`{s.value}`", team=t) for s, t in sorted(auth.scenario_teams.items())
    )
    body = texts.HELP.format(
        scenarios=", ".join(f"`{s.value}`" for s in SCENARIO_ORDER), minimum=auth.minimum_permission, teams=teams
    )
    return (texts.UNKNOWN_WORD.format(word=problem) if problem else "") + body


@router.register("issue_comment", action="created")
async def on_comment_created(event: sansio.Event, ctx: HandlerContext) -> None:
    comment = PullRequestComment.from_payload(event.data)
    if not should_handle_comment(comment):
        return
    command = parse_command(comment.body)
    if command is None:
        return
    assert comment.installation_id is not None
    repo = ctx.github.repo(installation_id=comment.installation_id, repository=comment.repository)
    # Abort is never held back: stopping a verification that harms staging must always get through.
    if ctx.cooldown is not None and command.kind is not CommandKind.ABORT:
        admission = ctx.cooldown.admit(repository=comment.repository, user=comment.user)
        if admission is not Admission.HANDLE:
            log.info("command ignored", reason="cooldown", user=comment.user, replied=admission is Admission.TELL)
            if admission is Admission.TELL:
                reply = texts.COMMAND_COOLDOWN.format(user=comment.user, seconds=ctx.cooldown.seconds)
                await repo.create_comment(comment.issue_number, reply)
            return
    # Everything from here on is on behalf of the verification this comment may start: count it.
    open_tally()
    await repo.add_reaction(comment.comment_id, "eyes")
    log.info("command received", kind=command.kind.value, user=comment.user, pull_request=comment.issue_number)
    environment = ctx.settings.environment_for(comment.repository)
    if environment is None:
        await repo.create_comment(comment.issue_number, texts.NOT_CONFIGURED.format(repository=comment.repository))
    elif command.kind is CommandKind.HELP:
        await repo.create_comment(comment.issue_number, help_text(ctx.settings.authorization, command.problem))
    elif command.kind is CommandKind.STATUS:
        await repo.create_comment(comment.issue_number, await _status(ctx, comment))
    else:
        await _guarded(ctx, repo, comment, command, environment)


async def _guarded(
    ctx: HandlerContext, repo: GitHubRepo, comment: PullRequestComment, command: Command, env: EnvironmentSettings
) -> None:
    refusal = await authorize(repo, ctx.settings.authorization, user=comment.user, scenarios=command.scenarios)
    if refusal is not None:
        log.info("command refused", reason="permission", user=comment.user)
        await repo.create_comment(comment.issue_number, refusal)
        return
    if command.kind is CommandKind.ABORT:
        await _abort(ctx, repo, comment, env)
        return
    pull = await repo.get_pull_request(comment.issue_number)
    if pull.from_fork:
        log.info("command refused", reason="fork", head_repo=pull.head_repo)
        reply = texts.FORK_REFUSED.format(
            user=comment.user, head_repo=pull.head_repo or "a deleted fork", base_repo=pull.base_repo
        )
        await repo.create_comment(comment.issue_number, reply)
        return
    if pull.state != "open":
        await repo.create_comment(comment.issue_number, texts.PR_CLOSED.format(user=comment.user, state=pull.state))
        return
    ref = branch_ref(env.workflow.ref or pull.head_ref)
    if command.dry_run:
        plan = render_plan(
            settings=ctx.settings, environment=env, scenarios=command.scenarios, ref=ref, head_sha=pull.head_sha
        )
        await repo.create_comment(comment.issue_number, plan)
        return
    running = ctx.engine.running(env.name)
    if running is not None:
        await repo.create_comment(comment.issue_number, await _already_running(ctx, comment, env, running))
        return
    assert comment.installation_id is not None
    request = VerificationRequest(
        verification_id=ctx.new_id(),
        installation_id=comment.installation_id,
        repository=comment.repository,
        pull_request=comment.issue_number,
        head_sha=pull.head_sha,
        ref=ref,
        environment=env.name,
        requested_by=comment.user,
        scenarios=command.scenarios,
        jira_issue=jira_issue_for(pull, ctx.settings.jira),
        comment_id=comment.comment_id,
        title=pull.title,
    )
    structlog.contextvars.bind_contextvars(verification=request.verification_id)
    try:
        await ctx.engine.start(request)
    except (GitHubError, OSError, RuntimeError, ValueError) as exc:
        log.error("verification not started", error=str(exc))
        reply = texts.START_FAILED.format(
            user=comment.user, verification_id=request.verification_id, error=md_text(exc)
        )
        await repo.create_comment(comment.issue_number, reply)
        return
    log.info("verification accepted", scenarios=[s.value for s in command.scenarios])


async def _already_running(
    ctx: HandlerContext, comment: PullRequestComment, env: EnvironmentSettings, verification_id: str
) -> str:
    running = await ctx.store.load_verification(verification_id)
    if running is None:
        link = "another pull request"
    else:
        link = f"[{running.repository}#{running.pull_request}]({html_base(ctx.settings.secrets.api_url)}/"
        link += f"{running.repository}/pull/{running.pull_request})"
    return texts.ALREADY_RUNNING.format(
        user=comment.user, environment=env.name, verification_id=verification_id, link=link
    )


async def _abort(ctx: HandlerContext, repo: GitHubRepo, comment: PullRequestComment, env: EnvironmentSettings) -> None:
    running = ctx.engine.running(env.name)
    if running is not None and not await _started_from(ctx, running, repository=comment.repository):
        # Two repositories may share an environment: an admin of one must not stop the other's verification.
        log.info("abort refused", reason="other repository", verification=running)
        reply = texts.ABORT_OTHER_REPOSITORY.format(user=comment.user, environment=env.name)
        await repo.create_comment(comment.issue_number, reply)
        return
    if running is None or not await ctx.engine.abort(running, by=comment.user):
        await repo.create_comment(
            comment.issue_number, texts.ABORT_NOTHING.format(user=comment.user, environment=env.name)
        )
        return
    await repo.create_comment(
        comment.issue_number, texts.ABORT_REQUESTED.format(user=comment.user, verification_id=running)
    )


async def _started_from(ctx: HandlerContext, verification_id: str, *, repository: str) -> bool:
    """Whether the verification (the engine stores it before it starts) was asked for on `repository`."""
    verification = await ctx.store.load_verification(verification_id)
    return verification is not None and verification.repository.lower() == repository.lower()


async def _status(ctx: HandlerContext, comment: PullRequestComment) -> str:
    latest = await ctx.store.latest_verification(repository=comment.repository, pull_request=comment.issue_number)
    if latest is None:
        return texts.STATUS_NONE
    state = (
        texts.STATE_RUNNING
        if latest.completed_at is None
        else texts.STATE_FINISHED.format(conclusion=(latest.conclusion or latest.decide_conclusion()).value)
    )
    lines = "\n".join(
        texts.STATUS_LINE.format(scenario=s.id.value, verdict=SCENARIO_VERDICT[s.conclusion]) for s in latest.scenarios
    )
    return texts.STATUS.format(
        verification_id=latest.verification_id,
        state=state,
        user=latest.requested_by,
        head_sha=latest.head_sha[:12],
        scenarios=lines,
    )
