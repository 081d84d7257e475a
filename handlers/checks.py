"""The buttons and re-run links on verify-staging's check runs: "Re-run failed", "Abort", "Re-run" on one check
run (that scenario again) and "Re-run all checks" on the suite (every scenario of the latest verification).

Each re-run is a new verification of the pull request's current head, after the same authorization as
`/verify-staging`; refusals are replied on the pull request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from gidgethub import routing, sansio

from bot.github.models import branch_ref, parses
from bot.model import ScenarioConclusion, ScenarioId, Verification
from bot.ports import GitHubError, GitHubRepo, VerificationRequest
from bot.reporting import parse_external_id
from bot.reporting.escape import md_text
from bot.texts import commands as command_texts
from bot.texts import reports as texts
from handlers.comments import authorize, jira_issue_for
from handlers.context import HandlerContext

router = routing.Router()
log = structlog.get_logger("handlers.checks")


@dataclass(frozen=True)
class CheckDelivery:
    """The fields of a `check_run` / `check_suite` delivery these handlers read."""

    repository: str
    installation_id: int | None
    user: str
    external_id: str
    identifier: str
    pull_requests: tuple[int, ...]

    @classmethod
    @parses("check delivery")
    def from_payload(cls, data: Mapping[str, Any], *, key: str) -> CheckDelivery:
        check = data[key]
        installation = data.get("installation") or {}
        return cls(
            repository=str(data["repository"]["full_name"]),
            installation_id=int(installation["id"]) if installation.get("id") is not None else None,
            user=str((data.get("sender") or {}).get("login") or ""),
            external_id=str(check.get("external_id") or ""),
            identifier=str((data.get("requested_action") or {}).get("identifier") or ""),
            pull_requests=tuple(int(pr["number"]) for pr in check.get("pull_requests") or ()),
        )


def failed_scenarios(verification: Verification) -> tuple[ScenarioId, ...]:
    bad = (ScenarioConclusion.FAILED, ScenarioConclusion.ERROR)
    return tuple(s.id for s in verification.scenarios if s.conclusion in bad)


@router.register("check_run", action="requested_action")
async def on_requested_action(event: sansio.Event, ctx: HandlerContext) -> None:
    delivery = CheckDelivery.from_payload(event.data, key="check_run")
    found = await _ours(ctx, delivery)
    if found is None:
        return
    repo, verification = found
    if delivery.identifier == texts.ACTION_ABORT_ID:
        await abort(ctx, repo, verification, user=delivery.user)
    elif delivery.identifier == texts.ACTION_RERUN_ID:
        scenarios = failed_scenarios(verification)
        if not scenarios:
            reply = texts.CHECKS_NOTHING_FAILED.format(user=delivery.user, verification_id=verification.verification_id)
            await repo.create_comment(verification.pull_request, reply)
            return
        await rerun(ctx, repo, verification, user=delivery.user, scenarios=scenarios)
    else:
        log.info("unknown check run action", identifier=delivery.identifier)


@router.register("check_run", action="rerequested")
async def on_check_run_rerequested(event: sansio.Event, ctx: HandlerContext) -> None:
    delivery = CheckDelivery.from_payload(event.data, key="check_run")
    found = await _ours(ctx, delivery)
    if found is None:
        return
    repo, verification = found
    _, scenario = parse_external_id(delivery.external_id)
    scenarios = (scenario,) if scenario is not None else tuple(s.id for s in verification.scenarios)
    await rerun(ctx, repo, verification, user=delivery.user, scenarios=scenarios)


@router.register("check_suite", action="rerequested")
async def on_check_suite_rerequested(event: sansio.Event, ctx: HandlerContext) -> None:
    delivery = CheckDelivery.from_payload(event.data, key="check_suite")
    if delivery.installation_id is None or not delivery.pull_requests:
        return
    latest = await ctx.store.latest_verification(repository=delivery.repository, pull_request=delivery.pull_requests[0])
    if latest is None:
        return
    repo = ctx.github.repo(installation_id=delivery.installation_id, repository=delivery.repository)
    await rerun(ctx, repo, latest, user=delivery.user, scenarios=tuple(s.id for s in latest.scenarios))


async def _ours(ctx: HandlerContext, delivery: CheckDelivery) -> tuple[GitHubRepo, Verification] | None:
    """The verification a check run belongs to (its external_id), when the delivery is one of ours."""
    if delivery.installation_id is None or not delivery.external_id:
        return None
    verification_id, _ = parse_external_id(delivery.external_id)
    verification = await ctx.store.load_verification(verification_id)
    if verification is None or verification.repository.lower() != delivery.repository.lower():
        log.info("check run of an unknown verification", external_id=delivery.external_id)
        return None
    return ctx.github.repo(installation_id=delivery.installation_id, repository=delivery.repository), verification


async def abort(ctx: HandlerContext, repo: GitHubRepo, verification: Verification, *, user: str) -> None:
    refusal = await authorize(repo, ctx.settings.authorization, user=user)
    if refusal is not None:
        await repo.create_comment(verification.pull_request, refusal)
        return
    stopped = await ctx.engine.abort(verification.verification_id, by=user)
    template = texts.CHECKS_ABORT_REQUESTED if stopped else texts.CHECKS_NOT_RUNNING
    await repo.create_comment(
        verification.pull_request, template.format(user=user, verification_id=verification.verification_id)
    )


async def rerun(
    ctx: HandlerContext,
    repo: GitHubRepo,
    previous: Verification,
    *,
    user: str,
    scenarios: tuple[ScenarioId, ...],
) -> None:
    """Start a new verification of `scenarios` on the pull request's current head, as `/verify-staging` would."""
    number = previous.pull_request
    refusal = await authorize(repo, ctx.settings.authorization, user=user, scenarios=scenarios)
    if refusal is not None:
        log.info("re-run refused", reason="permission", user=user)
        await repo.create_comment(number, refusal)
        return
    env = ctx.settings.environment_for(previous.repository)
    if env is None:
        return
    pull = await repo.get_pull_request(number)
    if pull.from_fork:
        reply = command_texts.FORK_REFUSED.format(
            user=user, head_repo=pull.head_repo or "a deleted fork", base_repo=pull.base_repo
        )
        await repo.create_comment(number, reply)
        return
    if pull.state != "open":
        await repo.create_comment(number, command_texts.PR_CLOSED.format(user=user, state=pull.state))
        return
    running = ctx.engine.running(env.name)
    if running is not None:
        reply = texts.CHECKS_ALREADY_RUNNING.format(user=user, running=running, environment=env.name)
        await repo.create_comment(number, reply)
        return
    request = VerificationRequest(
        verification_id=ctx.new_id(),
        installation_id=repo.installation_id,
        repository=previous.repository,
        pull_request=number,
        head_sha=pull.head_sha,
        ref=branch_ref(env.workflow.ref or pull.head_ref),
        environment=env.name,
        requested_by=user,
        scenarios=scenarios,
        jira_issue=jira_issue_for(pull, ctx.settings.jira),
        title=pull.title,
    )
    try:
        await ctx.engine.start(request)
    except (GitHubError, OSError, RuntimeError, ValueError) as exc:
        log.error("re-run not started", error=str(exc))
        await repo.create_comment(number, texts.CHECKS_START_FAILED.format(user=user, error=md_text(exc)))
        return
    log.info("re-run accepted", verification=request.verification_id, scenarios=[s.value for s in scenarios])
