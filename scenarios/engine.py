"""The scenario engine: runs a verification's scenarios in the seed's order, records every step, restores what it
harmed, and tells the reporters; webhooks about runs and jobs are fed to it for correlation."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from bot.accounting import CallTally, current_tally, open_tally
from bot.github.models import WorkflowJob, WorkflowRun
from bot.leases import VERIFICATION, Leases
from bot.model import (
    SCENARIO_ORDER,
    JiraReport,
    ScenarioConclusion,
    ScenarioId,
    ScenarioResult,
    ScenarioStatus,
    Step,
    Verification,
    VerificationConclusion,
)
from bot.ports import (
    Clock,
    GitHubApp,
    GitHubError,
    GitHubRepo,
    HttpProbe,
    MonitoringError,
    ProgressEvent,
    Reporter,
    SSHError,
    SSHPort,
    VerificationRequest,
)
from bot.settings import EnvironmentSettings, Settings
from bot.texts import safety as safety_texts
from bot.unit_names import is_glob
from scenarios import concurrency, failover, monitoring, normal_deploy, rollback
from scenarios.context import MonitoringFactory, ScenarioContext, ScenarioError, WrongCommit
from scenarios.correlation import Aborted, Correlator, WaitTimeout, first_of
from scenarios.journal import InjectionError, Journal
from scenarios.ownership import Ownership, Refused
from scenarios.pickup import JobNotPickedUp
from scenarios.undo_keeper import KeeperStore, UndoKeeper

log = structlog.get_logger(__name__)

ScenarioFn = Callable[[ScenarioContext], Awaitable[None]]

SCENARIOS: dict[ScenarioId, ScenarioFn] = {
    ScenarioId.NORMAL_DEPLOY: normal_deploy.run,
    ScenarioId.CONCURRENCY: concurrency.run,
    ScenarioId.FAILOVER: failover.run,
    ScenarioId.ROLLBACK: rollback.run,
    ScenarioId.MONITORING: monitoring.run,
}

SHUTDOWN_REASON = "The bot shut down while the verification ran; everything it had stopped was started again."


class EngineStore(KeeperStore, Protocol):
    """The part of bot/store/ the engine uses."""

    async def save_verification(self, v: Verification) -> None: ...

    async def record_event(self, *, verification_id: str, kind: str, data: dict[str, object]) -> None: ...


class EngineBusy(RuntimeError):
    """A verification is already running in that environment, another one uses the same host and unit, or an undo
    on one of its hosts is still pending; the message says which."""


@dataclass
class _Active:
    verification: Verification
    env: EnvironmentSettings
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    aborted_by: str | None = None
    task: asyncio.Task[None] | None = None
    #: Why it was aborted when not at a person's request (e.g. the pull request's head moved).
    abort_reason: str | None = None
    tally: CallTally | None = None


def _jira_report(issue: str | None) -> JiraReport | None:
    return JiraReport(issue=issue) if issue else None


def scenario_budget(env: EnvironmentSettings) -> float:
    """The longest any one scenario may take: every wait inside is bounded; this catches the unforeseen."""
    t = env.thresholds
    return 2 * t.run_timeout + 2 * t.runner_offline_detection + 3 * t.alert_fire + t.notification + 120


class ScenarioEngine:
    """bot.ports.Engine: one verification at a time per environment, each in its own background task.

    At start-up, run `scenarios.recover()` before building it, so faults a previous process left are undone first.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        store: EngineStore,
        github: GitHubApp,
        ssh: SSHPort,
        probe: HttpProbe,
        monitoring: MonitoringFactory,
        reporter: Reporter,
        clock: Clock,
        scenarios: dict[ScenarioId, ScenarioFn] | None = None,
        on_undo_pending: Callable[[Mapping[str, int]], None] | None = None,
        assess: Callable[[Verification], Awaitable[None]] | None = None,
        leases: Leases | None = None,
    ) -> None:
        self._settings, self._store, self._github = settings, store, github
        self._ssh, self._probe, self._monitoring = ssh, probe, monitoring
        self._reporter, self._clock = reporter, clock
        self._scenarios = scenarios or SCENARIOS
        #: Issue 15 §3: looks over the results before the verdict (regressions against the baseline).
        self._assess = assess
        self._active: dict[str, _Active] = {}
        self._correlators: dict[str, Correlator] = {}
        self._ownership = Ownership(leases)
        if leases is not None:
            leases.on_lost = self._lease_lost
        self._keeper = UndoKeeper(
            store=store,
            ssh=ssh,
            clock=clock,
            interval=settings.ssh.undo_retry_interval,
            command_timeout=settings.ssh.command_timeout,
            live=self._live,
            on_pending=on_undo_pending or _count_nothing,
            on_restored=lambda v: self._tell(self._reporter.finished(v)),
            owned_elsewhere=self._ownership.owned_elsewhere,
        )

    # ------------------------------------------------------------------------------------------- Engine port
    async def start(self, request: VerificationRequest) -> None:
        env = self._settings.environments.get(request.environment)
        if env is None:
            raise ValueError(f"unknown environment {request.environment!r}")
        await self._refuse_pending_undo(env)
        if self.running(env.name) is not None:
            raise EngineBusy(f"a verification is already running in {env.name}")
        self._refuse_shared_units(env)
        try:
            await self._ownership.claim(
                verification_id=request.verification_id,
                environment=env.name,
                units=_units_of(env),
                overlap=_may_overlap,
            )
        except Refused as exc:
            raise EngineBusy(str(exc)) from None
        selected = [ScenarioResult(id=s) for s in SCENARIO_ORDER if s in request.scenarios]
        v = Verification(
            verification_id=request.verification_id,
            installation_id=request.installation_id,
            repository=request.repository,
            pull_request=request.pull_request,
            head_sha=request.head_sha,
            ref=request.ref,
            environment=env.name,
            requested_by=request.requested_by,
            scenarios=selected,
            started_at=self._clock.now(),
            jira=_jira_report(request.jira_issue or self._settings.jira.issue),
            title=request.title,
            trigger=request.trigger,
            tracking_issue=request.tracking_issue,
        )
        active = _Active(verification=v, env=env)
        self._active[v.verification_id] = active
        try:
            await self._store.save_verification(v)
        except BaseException:
            self._active.pop(v.verification_id, None)
            await self._ownership.release(verification_id=v.verification_id, environment=env.name, units=_units_of(env))
            raise
        active.task = asyncio.create_task(self._run(active, request), name=f"verification {v.verification_id}")

    async def abort(self, verification_id: str, *, by: str, reason: str | None = None) -> bool:
        active = self._active.get(verification_id)
        if active is None:
            return False
        if active.aborted_by is None:
            active.aborted_by, active.abort_reason = by, reason
        active.abort.set()
        return True

    async def _lease_lost(self, name: str) -> None:
        """Another replica took this verification over (this one stalled past its lease): stop running it here."""
        active = self._active.get(name.removeprefix(VERIFICATION))
        if name.startswith(VERIFICATION) and active is not None and active.task is not None:
            active.task.cancel()

    def owns(self, verification_id: str) -> bool:
        """Whether the verification runs in this process."""
        return verification_id in self._active

    def running(self, environment: str) -> str | None:
        return next((vid for vid, a in self._active.items() if a.env.name == environment), None)

    def observe_run(self, *, installation_id: int, repository: str, run: WorkflowRun) -> None:
        self._correlator(installation_id=installation_id, repository=repository).observe_run(run)

    def observe_job(self, *, installation_id: int, repository: str, job: WorkflowJob) -> None:
        self._correlator(installation_id=installation_id, repository=repository).observe_job(job)

    # ------------------------------------------------------------------------------------------- lifecycle
    async def wait(self, verification_id: str) -> None:
        """Until the verification has finished (returns at once when it is not running)."""
        active = self._active.get(verification_id)
        if active is not None and active.task is not None:
            await asyncio.shield(active.task)

    async def stop(self) -> None:
        """Cancel every running verification; each restores what it stopped and is concluded `cancelled`."""
        tasks = [a.task for a in self._active.values() if a.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._keeper.stop()

    # ------------------------------------------------------------------------------------------- safety (issue 12)
    def start_undo_keeper(self) -> None:
        """Retry failed undos every `ssh.undo_retry_interval` until `stop()` (the runtime calls this at start-up)."""
        self._keeper.start()

    async def retry_undos(self) -> int:
        """One pass over the pending undos now; how many are still pending."""
        return len(await self._keeper.retry_once())

    def _live(self, verification_id: str) -> Verification | None:
        active = self._active.get(verification_id)
        return active.verification if active is not None else None

    async def _refuse_pending_undo(self, env: EnvironmentSettings) -> None:
        """No new fault on a host staging has not been restored on."""
        hosts = {host for host, _ in _units_of(env)}
        pending = await self._keeper.pending()
        self._keeper.report(pending)
        for entry in pending:
            if entry.host in hosts:
                raise EngineBusy(
                    safety_texts.UNDO_PENDING_REFUSED.format(
                        undo=shlex.join(entry.undo),
                        host=entry.host,
                        verification_id=entry.verification_id,
                        error=entry.error or "not carried out yet",
                        interval=self._settings.ssh.undo_retry_interval,
                    )
                )

    def _refuse_shared_units(self, env: EnvironmentSettings) -> None:
        """One fault at a time per (host, unit), across environments: another environment's undo would restart
        the unit in the middle of this verification's measurement."""
        mine = _units_of(env)
        for vid, other in self._active.items():
            for host, unit in _units_of(other.env):
                if any(host == h and _may_overlap(unit, u) for h, u in mine):
                    raise EngineBusy(
                        safety_texts.UNIT_BUSY_REFUSED.format(
                            other=vid, environment=other.env.name, unit=unit, host=host
                        )
                    )

    def _correlator(self, *, installation_id: int, repository: str) -> Correlator:
        key = repository.lower()
        if key not in self._correlators:
            repo = self._github.repo(installation_id=installation_id, repository=repository)
            self._correlators[key] = Correlator(
                repo=repo, clock=self._clock, reconcile_after=self._settings.github.reconcile_after
            )
        return self._correlators[key]

    # ------------------------------------------------------------------------------------------- running
    async def _run(self, active: _Active, request: VerificationRequest) -> None:
        v = active.verification
        repo = self._github.repo(installation_id=request.installation_id, repository=request.repository)
        # The command handler opened the tally (reaction, permission...); a re-run from a button may not have.
        tally = current_tally() or open_tally()
        active.tally = tally
        log.info("verification started", verification=v.verification_id, environment=v.environment)
        await self._tell(self._reporter.started(v))
        try:
            for result in v.scenarios:
                if active.abort.is_set():
                    _conclude(result, ScenarioConclusion.SKIPPED, f"Not run: {_why(active, lead='aborted by')}.")
                    continue
                await self._scenario(active, request, repo, result)
            if self._assess is not None and not active.abort.is_set():
                await _assessed(self._assess, v)
            v.conclusion = VerificationConclusion.CANCELLED if active.abort.is_set() else v.decide_conclusion()
            if active.abort.is_set():
                v.reason = f"{_why(active)}; everything the bot had stopped was started again."
        except asyncio.CancelledError:
            v.conclusion, v.reason = VerificationConclusion.CANCELLED, SHUTDOWN_REASON
            for result in v.scenarios:
                if result.conclusion is None:
                    _conclude(result, ScenarioConclusion.SKIPPED, "Not run: the bot shut down.")
            raise
        finally:
            v.github_api_calls = tally.count
            v.completed_at = self._clock.now()
            await asyncio.shield(self._finish(active))

    async def _finish(self, active: _Active) -> None:
        v = active.verification
        try:
            await self._store.save_verification(v)
        finally:
            self._active.pop(v.verification_id, None)
            with contextlib.suppress(Exception):  # unreleased leases expire on their own
                await self._ownership.release(
                    verification_id=v.verification_id, environment=active.env.name, units=_units_of(active.env)
                )
            log.info("verification finished", verification=v.verification_id, conclusion=str(v.conclusion))
            await self._tell(self._reporter.finished(v))
            if active.tally is not None and active.tally.count != v.github_api_calls:
                # The reporters' final updates are requests made for this verification too.
                v.github_api_calls = active.tally.count
                await self._store.save_verification(v)

    async def _scenario(
        self, active: _Active, request: VerificationRequest, repo: GitHubRepo, result: ScenarioResult
    ) -> None:
        v = active.verification
        result.status, result.started_at = ScenarioStatus.IN_PROGRESS, self._clock.now()
        await self._progress(v, result)
        ctx = ScenarioContext(
            env=active.env,
            request=request,
            result=result,
            repo=repo,
            probe=self._probe,
            monitoring=self._monitoring,
            clock=self._clock,
            correlator=self._correlator(installation_id=request.installation_id, repository=request.repository),
            journal=Journal(
                store=self._store,
                ssh=self._ssh,
                clock=self._clock,
                verification_id=v.verification_id,
                restorations=v.restorations,
                command_timeout=self._settings.ssh.command_timeout,
                max_units=self._settings.ssh.max_units_per_pattern,
            ),
            abort=active.abort,
            on_step=lambda step: self._step(v, result, step),
        )
        restorations_before = len(v.restorations)
        try:
            conclusion, reason = await self._attempt(ctx, active)
        finally:
            result.completed_at = self._clock.now()
            result.status = ScenarioStatus.COMPLETED
        broken = [r for r in v.restorations[restorations_before:] if not r.ok]
        if broken:
            conclusion = ScenarioConclusion.ERROR
            undo = "; ".join(f"`{r.undo}` on {r.host}: {r.error}" for r in broken)
            reason = f"{reason or 'The scenario ran'} but restoring staging failed ({undo})."
        _conclude(result, conclusion, reason)
        await self._progress(v, result)

    async def _attempt(self, ctx: ScenarioContext, active: _Active) -> tuple[ScenarioConclusion, str | None]:
        """Run one scenario; every way it can end becomes a conclusion and a sentence."""
        fn = self._scenarios[ctx.result.id]
        try:
            task = asyncio.ensure_future(fn(ctx))
            if await first_of([task, self._clock.sleep(scenario_budget(ctx.env))]) != 0:
                raise WaitTimeout(f"the scenario to finish within {scenario_budget(ctx.env):g} s")
            task.result()
        except Aborted:
            return ScenarioConclusion.ERROR, f"{_why(active)} before the scenario finished."
        except WrongCommit as exc:
            return ScenarioConclusion.FAILED, str(exc)
        except JobNotPickedUp as exc:
            return ScenarioConclusion.FAILED, str(exc)
        except WaitTimeout as exc:
            return ScenarioConclusion.ERROR, f"Timed out waiting for {exc}."
        except (ScenarioError, InjectionError) as exc:
            return ScenarioConclusion.ERROR, str(exc)
        except SSHError as exc:
            return ScenarioConclusion.ERROR, f"SSH to {exc.host} failed ({exc.kind}): {exc}"
        except GitHubError as exc:
            return ScenarioConclusion.ERROR, f"GitHub could not be asked: {exc}"
        except MonitoringError as exc:
            return ScenarioConclusion.ERROR, f"Monitoring could not be asked: {exc}"
        except Exception as exc:
            log.exception("scenario crashed", scenario=ctx.result.id.value)
            return ScenarioConclusion.ERROR, f"The scenario stopped on an unexpected error: {type(exc).__name__}: {exc}"
        if ctx.result.criteria and not ctx.reasons:
            return ScenarioConclusion.PASSED, None
        # One cause can leave several criteria unevaluated with the same sentence: say it once.
        return ScenarioConclusion.FAILED, " ".join(dict.fromkeys(ctx.reasons.values())) or "No criterion was evaluated."

    async def _step(self, v: Verification, result: ScenarioResult, step: Step) -> None:
        ended = step.completed_at is not None
        data: dict[str, object] = {"scenario": result.id.value, "step": step.name, "ended": ended}
        if ended:
            data.update(outcome=step.outcome.value if step.outcome else None, error=step.error)
        await self._store.record_event(verification_id=v.verification_id, kind="step", data=data)
        await self._store.save_verification(v)
        await self._progress(v, result)

    async def _progress(self, v: Verification, result: ScenarioResult) -> None:
        await self._tell(self._reporter.progress(ProgressEvent(v, result.id)))

    async def _tell(self, call: Awaitable[None]) -> None:
        """A reporter that fails (GitHub or JIRA down) must not stop a verification that is changing staging."""
        try:
            await call
        except Exception:
            log.exception("reporter failed")


def _conclude(result: ScenarioResult, conclusion: ScenarioConclusion, reason: str | None) -> None:
    result.conclusion, result.reason = conclusion, reason
    result.status = ScenarioStatus.COMPLETED


def _count_nothing(counts: Mapping[str, int]) -> None:
    return None


def _units_of(env: EnvironmentSettings) -> set[tuple[str, str]]:
    """Every (host, unit) a verification in `env` may stop or depends on: its runners and its backend."""
    return {(r.host, r.service) for r in env.runners} | {(env.backend.host, env.backend.service)}


def _may_overlap(a: str, b: str) -> bool:
    """Whether two unit names or patterns on one host may name the same unit (two globs: assume they may)."""
    if is_glob(a) and is_glob(b):
        return True
    a, b = _with_suffix(a), _with_suffix(b)
    return a == b or fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a)


def _with_suffix(name: str) -> str:
    """systemd's rule: a unit named without a type suffix is a .service."""
    return name if is_glob(name) or "." in name else f"{name}.service"


def _why(active: _Active, *, lead: str = "Aborted by") -> str:
    """The abort's reason as a clause: the given reason, else who asked."""
    return active.abort_reason or f"{lead} {active.aborted_by}"


async def _assessed(assess: Callable[[Verification], Awaitable[None]], v: Verification) -> None:
    try:
        await assess(v)
    except Exception as exc:  # the history is a help, not a criterion: its store failing changes no verdict
        log.warning("results not assessed", verification=v.verification_id, error=str(exc))
