"""The `/verify-staging` pull-request command: run, dry-run, help, status, abort and history.

Which comments count is handlers/comment_event.py; starting a verification (who may, on what) is
handlers/policy.py, shared with the check-run buttons.
"""

from __future__ import annotations

import structlog
from gidgethub import routing

from bot.model import SCENARIO_ORDER
from bot.ports import GitHubRepo
from bot.reporting.history_reply import HISTORY_REPLY_LIMIT, render_history_reply
from bot.reporting.trends import load_history
from bot.settings import AuthorizationSettings, EnvironmentSettings
from bot.texts import commands as texts
from bot.texts.reports import SCENARIO_VERDICT
from handlers.command import Command, CommandKind, parse_command
from handlers.comment_event import PullRequestComment, comment_command
from handlers.context import HandlerContext
from handlers.cooldown import Admission
from handlers.policy import PullRequestReply, authorize, configured_environment, start_verification

router = routing.Router()
log = structlog.get_logger("handlers.comments")


def help_text(auth: AuthorizationSettings, problem: str | None = None) -> str:
    teams = "".join(
        texts.HELP_TEAMS.format(scenario=f"`{s.value}`", team=t) for s, t in sorted(auth.scenario_teams.items())
    )
    body = texts.HELP.format(
        scenarios=", ".join(f"`{s.value}`" for s in SCENARIO_ORDER), minimum=auth.minimum_permission, teams=teams
    )
    return (texts.UNKNOWN_WORD.format(word=problem) if problem else "") + body


@router.register("issue_comment", action="created")
@comment_command(parse_command)
async def on_comment_created(
    ctx: HandlerContext, comment: PullRequestComment, command: Command, repo: GitHubRepo
) -> None:
    # Abort is never held back: stopping a verification that harms staging must always get through.
    if ctx.cooldown is not None and command.kind is not CommandKind.ABORT:
        admission = ctx.cooldown.admit(repository=comment.repository, user=comment.user)
        if admission is not Admission.HANDLE:
            log.info("command ignored", reason="cooldown", user=comment.user, replied=admission is Admission.TELL)
            if admission is Admission.TELL:
                wait = texts.COMMAND_COOLDOWN.format(user=comment.user, seconds=ctx.cooldown.seconds)
                await repo.create_comment(comment.issue_number, wait)
            return
    log.info("command received", kind=command.kind.value, user=comment.user, pull_request=comment.issue_number)
    reply = PullRequestReply(repo, comment.issue_number, comment_id=comment.comment_id)
    if command.kind is CommandKind.RUN:
        await start_verification(
            ctx,
            requested_by=comment.user,
            repository=comment.repository,
            installation_id=repo.installation_id,
            reply=reply,
            pull_request=comment.issue_number,
            scenarios=command.scenarios,
            dry_run=command.dry_run,
            comment_id=comment.comment_id,
        )
        return
    await reply.acknowledge()
    environment = await configured_environment(ctx, repository=comment.repository, reply=reply)
    if environment is None:
        return
    if command.kind is CommandKind.HELP:
        await reply.say(help_text(ctx.settings.authorization, command.problem))
    elif command.kind is CommandKind.STATUS:
        await reply.say(await _status(ctx, comment))
    elif command.kind is CommandKind.HISTORY:
        history = await load_history(
            ctx.store, environment=environment.name, limit=HISTORY_REPLY_LIMIT, repository=comment.repository
        )
        await reply.say(render_history_reply(history))
    else:
        await _abort(ctx, repo, comment, environment)


async def _abort(ctx: HandlerContext, repo: GitHubRepo, comment: PullRequestComment, env: EnvironmentSettings) -> None:
    """Stop the verification running in `env`, when the person may and it was asked for on this repository."""
    refusal = await authorize(repo, ctx.settings.authorization, user=comment.user)
    if refusal is not None:
        log.info("command refused", reason="permission", user=comment.user)
        await repo.create_comment(comment.issue_number, refusal)
        return
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
