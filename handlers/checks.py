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

from bot.envelope import Envelope
from bot.github.models import PayloadError, parses
from bot.model import ScenarioConclusion, ScenarioId, Trigger, Verification
from bot.ports import GitHubRepo
from bot.reporting import parse_external_id
from bot.texts import reports as texts
from bot.texts import schedule as schedule_texts
from handlers.context import HandlerContext
from handlers.policy import PullRequestReply, authorize, start_verification

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
    def read(cls, envelope: Envelope, data: Mapping[str, Any], *, key: str) -> CheckDelivery:
        """The check run or suite (`key`) of a delivery whose shared fields (`envelope`) were read at ingress."""
        if envelope.repository is None:
            raise PayloadError("check delivery: no repository")
        check = data[key]
        return cls(
            repository=envelope.repository,
            installation_id=envelope.installation_id,
            user=str((data.get("sender") or {}).get("login") or ""),
            external_id=str(check.get("external_id") or ""),
            identifier=str((data.get("requested_action") or {}).get("identifier") or ""),
            pull_requests=tuple(int(pr["number"]) for pr in check.get("pull_requests") or ()),
        )


def failed_scenarios(verification: Verification) -> tuple[ScenarioId, ...]:
    bad = (ScenarioConclusion.FAILED, ScenarioConclusion.ERROR)
    return tuple(s.id for s in verification.scenarios if s.conclusion in bad)


@router.register("check_run", action="requested_action")
@router.register("check_run", action="rerequested")
async def on_check_run(event: sansio.Event, ctx: HandlerContext) -> None:
    """A button of one of our check runs (Abort, Re-run failed), or GitHub's "Re-run" of one of them."""
    found = await _our_check_run(ctx, event)
    if found is None:
        return
    delivery, repo, verification = found
    if ctx.envelope.action == "rerequested":
        _, scenario = parse_external_id(delivery.external_id)
        scenarios = (scenario,) if scenario is not None else tuple(s.id for s in verification.scenarios)
        await rerun(ctx, repo, verification, user=delivery.user, scenarios=scenarios)
    elif delivery.identifier == texts.ACTION_ABORT_ID:
        await abort(ctx, repo, verification, user=delivery.user)
    elif delivery.identifier == texts.ACTION_RERUN_ID:
        scenarios = failed_scenarios(verification)
        if not scenarios:
            reply = texts.CHECKS_NOTHING_FAILED.format(user=delivery.user, verification_id=verification.verification_id)
            await _tell(repo, verification, reply)
            return
        await rerun(ctx, repo, verification, user=delivery.user, scenarios=scenarios)
    else:
        log.info("unknown check run action", identifier=delivery.identifier)


@router.register("check_suite", action="rerequested")
async def on_check_suite_rerequested(event: sansio.Event, ctx: HandlerContext) -> None:
    delivery = CheckDelivery.read(ctx.envelope, event.data, key="check_suite")
    if delivery.installation_id is None or not delivery.pull_requests:
        return
    latest = await ctx.store.latest_verification(repository=delivery.repository, pull_request=delivery.pull_requests[0])
    if latest is None:
        return
    repo = ctx.github.repo(installation_id=delivery.installation_id, repository=delivery.repository)
    await rerun(ctx, repo, latest, user=delivery.user, scenarios=tuple(s.id for s in latest.scenarios))


async def _our_check_run(
    ctx: HandlerContext, event: sansio.Event
) -> tuple[CheckDelivery, GitHubRepo, Verification] | None:
    """The check run delivery with the verification it belongs to (its external_id), when the check run is ours."""
    delivery = CheckDelivery.read(ctx.envelope, event.data, key="check_run")
    if delivery.installation_id is None or not delivery.external_id:
        return None
    verification_id, _ = parse_external_id(delivery.external_id)
    verification = await ctx.store.load_verification(verification_id)
    if verification is None or verification.repository.lower() != delivery.repository.lower():
        log.info("check run of an unknown verification", external_id=delivery.external_id)
        return None
    repo = ctx.github.repo(installation_id=delivery.installation_id, repository=delivery.repository)
    return delivery, repo, verification


async def abort(ctx: HandlerContext, repo: GitHubRepo, verification: Verification, *, user: str) -> None:
    refusal = await authorize(repo, ctx.settings.authorization, user=user)
    if refusal is not None:
        await _tell(repo, verification, refusal)
        return
    stopped = await ctx.engine.abort(verification.verification_id, by=user)
    template = texts.CHECKS_ABORT_REQUESTED if stopped else texts.CHECKS_NOT_RUNNING
    await _tell(repo, verification, template.format(user=user, verification_id=verification.verification_id))


async def _tell(repo: GitHubRepo, verification: Verification, text: str) -> None:
    """Answer on the verification's pull request, or a scheduled one's tracking issue (if it has one)."""
    if verification.conversation is not None:
        await repo.create_comment(verification.conversation, text)


async def rerun(
    ctx: HandlerContext,
    repo: GitHubRepo,
    previous: Verification,
    *,
    user: str,
    scenarios: tuple[ScenarioId, ...],
) -> None:
    """Start a new verification of `scenarios` on the pull request's current head, as `/verify-staging` would."""
    if previous.trigger is Trigger.SCHEDULE:  # no pull request to verify; the schedule runs it again
        refusal = schedule_texts.RERUN_REFUSED.format(user=user, verification_id=previous.verification_id)
        await _tell(repo, previous, refusal)
        return
    await start_verification(
        ctx,
        requested_by=user,
        repository=previous.repository,
        installation_id=repo.installation_id,
        reply=PullRequestReply(repo, previous.pull_request),
        pull_request=previous.pull_request,
        scenarios=scenarios,
        trigger=Trigger.BUTTON,
    )
