"""Starts the whole bot from settings: store, GitHub App, metrics, runner poller, handlers, engine, reporters, web.

`serve` and `demo` both call `start_runtime()`, so the demo runs exactly the bot that production runs. With the CLI
and the demo beside it in bot/runtime/, the composition root: the one place that knows every concrete class.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import aiohttp
import structlog
from aiohttp import web
from gidgethub import sansio

from bot.adapters.clock import SystemClock
from bot.adapters.jira import JiraClient
from bot.database.base import url_secrets
from bot.details import details_pages
from bot.envelope import Envelope
from bot.github.client import GitHubAppClient
from bot.github.hook_deliveries import AppHookDeliveries
from bot.health_metrics import RESTORE_LIMIT, schedule_periods
from bot.history import HistoryReporter
from bot.history_web import history_pages
from bot.leases import Leases, Singleton, replica_id
from bot.logging import register_secrets
from bot.metrics import Metrics, MetricsReporter
from bot.ports import Clock, Engine, GitHubApp, JiraPort, Reporter
from bot.redelivery import RedeliveryMetrics, RedeliverySweep
from bot.regressions import flag_regressions
from bot.relay import EventRelay, relay_delivery
from bot.replicated_engine import ReplicatedEngine
from bot.reporting import build_reporter
from bot.runner_poller import RunnerPoller
from bot.settings import Settings
from bot.store import Store
from bot.web import Filter, WebhookIngress, build_web_app
from handlers import build_router, handled_events
from handlers.context import HandlerContext
from handlers.cooldown import CommandCooldown
from handlers.schedule import Scheduler, ScheduleSkips

log = structlog.get_logger("bot.runtime")

#: How often delivery ids older than `server.retention_days` are forgotten (also once at start-up).
PRUNE_INTERVAL = 24 * 3600.0
#: Seconds before a scheduler that failed unexpectedly starts again (it catches up on what it missed).
SCHEDULER_RESTART_DELAY = 30.0


@dataclass(frozen=True)
class EngineParts:
    """What the engine is built from, once everything else is up."""

    settings: Settings
    store: Store
    github: GitHubApp
    reporter: Reporter
    clock: Clock
    session: aiohttp.ClientSession
    metrics: Metrics
    #: This replica's leases (issue 16); None in tests' runtimes that share nothing.
    leases: Leases | None = None
    #: Background work the engine factory started; the runtime stops it after the engine.
    background: list[Background] = field(default_factory=list)


class Background(Protocol):
    async def stop(self) -> None: ...


#: Builds the engine (and recovers what a previous run left behind); tests pass one that builds a fake.
EngineFactory = Callable[[EngineParts], Awaitable[Engine]]


async def scenario_engine(parts: EngineParts) -> Engine:
    """The production engine: adapters for SSH, HTTP probes and monitoring, start-up recovery, then the engine,
    whose undo keeper retries every undo that still fails for as long as the bot runs."""
    import scenarios
    from bot.runtime.adapters import build_adapters
    from scenarios.takeover import Takeover

    settings, store, reporter, clock = (
        parts.settings,
        parts.store,
        parts.reporter,
        parts.clock,
    )  # the SSH, probe and monitoring adapters, wired in one place

    adapters = build_adapters(settings=settings, session=parts.session)
    built: list[scenarios.ScenarioEngine] = []  # the engine once it exists: the takeover skips its verifications
    takeover = (
        None
        if parts.leases is None
        else Takeover(
            settings=settings, store=store, ssh=adapters.ssh, reporter=reporter, clock=clock, leases=parts.leases,
            owns=lambda vid: any(e.owns(vid) for e in built),
        )
    )  # fmt: skip
    # ---- start-up recovery: undo any fault a previous run injected and did not restore ----
    if takeover is None:
        await scenarios.recover(settings=settings, store=store, ssh=adapters.ssh, reporter=reporter, clock=clock)
    else:
        # With replicas: only what no live replica owns; what a live one owns is taken over once its lease expires.
        await takeover.once(at_start=True)
    # ---- the scenario engine ----
    hosts = list(settings.ssh.hosts)
    engine = scenarios.ScenarioEngine(
        settings=settings,
        store=store,
        github=parts.github,
        ssh=adapters.ssh,
        probe=adapters.probe,
        monitoring=adapters.monitoring,
        reporter=reporter,
        clock=clock,
        on_undo_pending=lambda counts: parts.metrics.undos_pending(counts, hosts=hosts),
        assess=lambda v: flag_regressions(v, source=store, rules=settings.environments[v.environment].regressions),
        leases=parts.leases,
    )
    engine.start_undo_keeper()
    if takeover is not None:
        built.append(engine)
        takeover.start()
        parts.background.append(takeover)
    return engine


@dataclass
class Runtime:
    """A running bot. `url` is its base address (webhooks at `url + "/webhooks"`)."""

    url: str
    engine: Engine
    store: Store
    metrics: Metrics
    github: GitHubAppClient
    poller: RunnerPoller
    ingress: WebhookIngress
    _runner: web.AppRunner
    _session: aiohttp.ClientSession
    _housekeeping: asyncio.Task[None] | None = None
    #: Redelivers webhooks that failed while the bot was down (bot/redelivery.py); None only in tests' runtimes.
    redelivery: RedeliverySweep | None = None
    #: Issue 16: this replica's leases, the workflow events relayed between replicas, and what runs on one replica
    #: at a time (the runner poller, the redelivery sweep, the scheduler); the engine factory's background work (the
    #: takeover).
    leases: Leases | None = None
    relay: EventRelay | None = None
    singletons: dict[str, Singleton] = field(default_factory=dict)
    background: list[Background] = field(default_factory=list)

    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Stop taking deliveries, let in-flight ones finish (bounded), then stop everything in reverse order.

        The engine's stop lets a running verification restore what it stopped before it returns (the deploy files
        give the process 180 s after SIGTERM for that).
        """
        with contextlib.suppress(Exception):
            await self._runner.shutdown()
        await self.ingress.drain(drain_timeout)
        await self.ingress.close()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
        for singleton in self.singletons.values():
            await singleton.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.poller.stop()
        for work in self.background:
            await work.stop()
        stop = getattr(self.engine, "stop", None)
        if stop is not None:
            await stop()
        if self.leases is not None:
            await self.leases.stop()  # after the engine: its verifications have concluded and given theirs back
        await self._runner.cleanup()
        await self._session.close()
        await self.store.close()


async def prune_deliveries(store: Store, *, retention_days: int, clock: Clock) -> None:
    """Forget delivery ids older than the retention, at start-up and then daily, so the table stays bounded."""
    while True:
        try:
            removed = await store.prune_deliveries(older_than=clock.now() - timedelta(days=retention_days))
            log.info("deliveries pruned", removed=removed, retention_days=retention_days)
        except Exception as exc:  # a locked or full disk must not stop the bot; the next day tries again
            log.warning("deliveries not pruned", error=str(exc))
        await clock.sleep(PRUNE_INTERVAL)


async def _scheduled(scheduler: Scheduler, clock: Clock) -> None:
    """The scheduler, restarted after a failure it did not expect (the store or GitHub in a state no one foresaw):
    a schedule that silently stopped is what issue 15 exists to prevent."""
    while True:
        try:
            await scheduler.run()
            return
        except Exception as exc:
            log.error("scheduler failed, restarting", error=str(exc))
            await clock.sleep(SCHEDULER_RESTART_DELAY)


async def restore_health(metrics: Metrics, *, store: Store, settings: Settings) -> None:
    """Issue 15 §4: the verification health gauges start from the store, not from nothing, so a restart does not
    make every environment look stale; the schedule periods come from settings."""
    metrics.health.restore(await store.completed_verifications(limit=RESTORE_LIMIT))
    metrics.health.schedule_periods(schedule_periods(settings.environments))


async def run_until_cancelled(poller: RunnerPoller, metrics: Metrics) -> None:
    """The runner poller as singleton work: polling while this replica holds its lease, and only then exporting the
    runner gauges (Prometheus scrapes every replica: one source of `verify_staging_runner_online`)."""
    poller.start()
    try:
        await asyncio.Event().wait()
    finally:
        await poller.stop()
        metrics.forget_runners_online()


def jira_port(settings: Settings) -> JiraPort | None:
    secrets = settings.secrets
    if secrets.jira_url is None:
        return None
    return JiraClient(
        url=secrets.jira_url, token=secrets.jira_token, user=secrets.jira_user, password=secrets.jira_password
    )


def _dry_run_doctor(
    settings: Settings, *, github: GitHubAppClient, session: aiohttp.ClientSession
) -> Callable[[str], Awaitable[str]]:
    """Issue 14 §4: the doctor's summary in a `--dry-run` reply (bot/runtime/doctor.py imports this module)."""
    from bot.runtime.doctor import dry_run_summary

    return dry_run_summary(settings, github=github, session=session)


def delivery_filter(settings: Settings, events: frozenset[str]) -> Filter:
    """Deliveries worth processing: an event some feature handles, from a configured repository."""
    configured = {name.lower() for name in settings.github.repositories}

    def accepts(envelope: Envelope) -> bool:
        if envelope.event not in events:
            return False
        return envelope.repository is None or envelope.repository.lower() in configured

    return accepts


async def start_runtime(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    engine_factory: EngineFactory = scenario_engine,
    extra_reporters: Sequence[Reporter] = (),
    clock: Clock | None = None,
    reuse_port: bool = False,
    dry_run_doctor: Callable[[str], Awaitable[str]] | None = None,
) -> Runtime:
    """Start the bot and return once it listens on host:port (port 0: a free port; `reuse_port`: bind beside a
    socket that holds the port reserved with SO_REUSEPORT, see `serve --reuse-port`; `dry_run_doctor`: what a
    `--dry-run` reply appends, by default the doctor run against this installation)."""
    secrets = settings.secrets
    register_secrets([secrets.private_key, secrets.webhook_secret, secrets.jira_token, secrets.jira_password])
    register_secrets([secrets.grafana_token, secrets.prometheus_token, secrets.alertmanager_token])
    register_secrets(url_secrets(secrets.database_url))
    clock = clock or SystemClock()
    store = await Store.open(settings.store_location)
    leases = Leases(store=store, clock=clock, replica=replica_id(), lease_seconds=settings.database_lease_seconds)
    background: list[Background] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    ingress: WebhookIngress | None = None
    try:
        github = GitHubAppClient(
            session,
            app_id=secrets.app_id,
            private_key=secrets.private_key,
            api_url=secrets.api_url,
            api_version=settings.github.api_version,
        )
        metrics = Metrics()
        metrics.undos_pending({}, hosts=settings.ssh.hosts)
        await restore_health(metrics, store=store, settings=settings)
        history = HistoryReporter(store)
        await history.backfill(await store.completed_without_history(limit=RESTORE_LIMIT))
        jira = jira_port(settings)
        reporter = build_reporter(
            settings=settings,
            github=github,
            jira=jira,
            clock=clock,
            extra=(MetricsReporter(metrics), history, *extra_reporters),
            verifications=store,
        )
        parts = EngineParts(
            settings=settings, store=store, github=github, reporter=reporter, clock=clock, session=session,
            metrics=metrics, leases=leases, background=background,
        )  # fmt: skip
        engine = await engine_factory(parts)
        leases.start()
        relay = EventRelay(store=store, engine=engine, leases=leases)
        poller = RunnerPoller(
            github=github,
            metrics=metrics,
            repositories=list(settings.github.repositories),
            expected_runners=[r.name for env in settings.environments.values() for r in env.runners],
            interval=settings.github.runner_poll_interval,
        )
        router = build_router()
        ctx = HandlerContext(
            settings=settings,
            github=github,
            engine=ReplicatedEngine(engine, relay),
            store=store,
            metrics=metrics,
            jira=jira,
            cooldown=CommandCooldown(seconds=settings.authorization.command_cooldown, clock=clock),
            doctor=dry_run_doctor or _dry_run_doctor(settings, github=github, session=session),
            clock=clock,
        )

        async def process(event: sansio.Event, envelope: Envelope) -> None:
            if envelope.installation_id is not None and envelope.repository:
                poller.learn(repository=envelope.repository, installation_id=envelope.installation_id)
            await router.dispatch(event, ctx.for_delivery(envelope))
            await relay_delivery(relay, event, envelope)

        ingress = WebhookIngress(
            secret=secrets.webhook_secret,
            store=store,
            metrics=metrics,
            accepts=delivery_filter(settings, handled_events(router)),
            process=process,
            limits=settings.server,
        )
        ingress.start()
        app = build_web_app(ingress, metrics, details=details_pages(settings, store), replica=leases)
        pages = history_pages(settings, store)
        if pages is not None:
            pages.add_routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
        await site.start()
    except BaseException:
        if ingress is not None:
            await ingress.close()
        for work in background:
            await work.stop()
        await leases.stop()
        await session.close()
        await store.close()
        raise
    bound = runner.addresses[0]
    url = f"http://{bound[0]}:{bound[1]}"
    relay.start()
    housekeeping = asyncio.create_task(
        prune_deliveries(store, retention_days=settings.server.retention_days, clock=clock), name="prune deliveries"
    )
    # Started once the bot listens: what it asks GitHub to redeliver must find it up.
    redelivery = RedeliverySweep(
        hooks=AppHookDeliveries(github),
        store=store,
        metrics=RedeliveryMetrics(metrics.registry),
        clock=clock,
        interval=settings.github.redelivery_interval,
    )
    scheduler = Scheduler(
        ctx,
        clock=clock,
        installation_for=github.installation_for,
        skips=ScheduleSkips(metrics.registry, environments=list(settings.environments)),
    )
    # Each runs on one replica at a time: two pollers would double GitHub requests, two sweeps double redeliveries.
    singletons = {
        "runner-poller": Singleton(
            leases=leases, name="runner-poller", work=lambda: run_until_cancelled(poller, metrics)
        ),
        "redelivery-sweep": Singleton(leases=leases, name="redelivery-sweep", work=redelivery.run),
    }
    if any(env.schedule is not None for env in settings.environments.values()):
        # Due times are claimed in the store, so two schedulers could not double-run one; one is still enough.
        singletons["scheduler"] = Singleton(leases=leases, name="scheduler", work=lambda: _scheduled(scheduler, clock))
    for singleton in singletons.values():
        singleton.start()
    log.info("bot listening", url=url, repositories=list(settings.github.repositories))
    return Runtime(
        url=url,
        engine=engine,
        store=store,
        metrics=metrics,
        github=github,
        poller=poller,
        ingress=ingress,
        _runner=runner,
        _session=session,
        _housekeeping=housekeeping,
        redelivery=redelivery,
        leases=leases,
        relay=relay,
        singletons=singletons,
        background=background,
    )
