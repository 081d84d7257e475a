"""Starts the whole bot from settings: store, GitHub App, metrics, runner poller, handlers, engine, reporters, web.

`serve` and `demo` both call `start_runtime()`, so the demo runs exactly the bot that production runs. This is the
composition root: the one module that knows every concrete class.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog
from aiohttp import web
from gidgethub import sansio

from bot.clock import SystemClock
from bot.github_client import GitHubAppClient
from bot.jira_client import JiraClient
from bot.logging import register_secrets
from bot.metrics import Metrics, MetricsReporter
from bot.ports import Clock, Engine, GitHubApp, JiraPort, Reporter
from bot.reporting import build_reporter
from bot.runner_poller import RunnerPoller
from bot.settings import Settings
from bot.store import Store
from bot.web import Filter, WebhookIngress, build_web_app
from handlers import build_router, handled_events
from handlers.context import HandlerContext

log = structlog.get_logger("bot.app")


class EngineFactory(Protocol):
    """Builds the engine once everything else is up (and recovers what a previous run left behind)."""

    async def __call__(
        self,
        *,
        settings: Settings,
        store: Store,
        github: GitHubApp,
        reporter: Reporter,
        clock: Clock,
        session: aiohttp.ClientSession,
    ) -> Engine: ...


async def scenario_engine(
    *,
    settings: Settings,
    store: Store,
    github: GitHubApp,
    reporter: Reporter,
    clock: Clock,
    session: aiohttp.ClientSession,
) -> Engine:
    """The production engine: adapters for SSH, HTTP probes and monitoring, start-up recovery, then the engine."""
    import scenarios
    from bot.adapters import build_adapters  # the SSH, probe and monitoring adapters, wired in one place

    adapters = build_adapters(settings=settings, session=session)
    # ---- start-up recovery: undo any fault a previous run injected and did not restore ----
    await scenarios.recover(settings=settings, store=store, ssh=adapters.ssh, reporter=reporter, clock=clock)
    # ---- the scenario engine ----
    return scenarios.ScenarioEngine(
        settings=settings,
        store=store,
        github=github,
        ssh=adapters.ssh,
        probe=adapters.probe,
        monitoring=adapters.monitoring,
        reporter=reporter,
        clock=clock,
    )


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

    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Stop taking deliveries, let in-flight ones finish (bounded), then stop everything in reverse order."""
        with contextlib.suppress(Exception):
            await self._runner.shutdown()
        await self.ingress.drain(drain_timeout)
        await self.ingress.close()
        await self.poller.stop()
        stop = getattr(self.engine, "stop", None)
        if stop is not None:
            await stop()
        await self._runner.cleanup()
        await self._session.close()
        await self.store.close()


def jira_port(settings: Settings) -> JiraPort | None:
    secrets = settings.secrets
    if secrets.jira_url is None:
        return None
    return JiraClient(
        url=secrets.jira_url, token=secrets.jira_token, user=secrets.jira_user, password=secrets.jira_password
    )


def delivery_filter(settings: Settings, events: frozenset[str]) -> Filter:
    """Deliveries worth processing: an event some feature handles, from a configured repository."""
    configured = {name.lower() for name in settings.github.repositories}

    def accepts(event: str, data: Mapping[str, Any]) -> bool:
        if event not in events:
            return False
        repository = data.get("repository")
        if isinstance(repository, dict):
            return str(repository.get("full_name", "")).lower() in configured
        return True

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
) -> Runtime:
    """Start the bot and return once it listens on host:port (port 0: a free port; `reuse_port`: bind beside a
    socket that holds the port reserved with SO_REUSEPORT, see `serve --reuse-port`)."""
    secrets = settings.secrets
    register_secrets([secrets.private_key, secrets.webhook_secret, secrets.jira_token, secrets.jira_password])
    clock = clock or SystemClock()
    store = await Store.open(settings.database)
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    try:
        github = GitHubAppClient(
            session,
            app_id=secrets.app_id,
            private_key=secrets.private_key,
            api_url=secrets.api_url,
            api_version=settings.github.api_version,
        )
        metrics = Metrics()
        jira = jira_port(settings)
        reporter = build_reporter(
            settings=settings,
            github=github,
            jira=jira,
            clock=clock,
            extra=(MetricsReporter(metrics), *extra_reporters),
        )
        engine = await engine_factory(
            settings=settings, store=store, github=github, reporter=reporter, clock=clock, session=session
        )
        poller = RunnerPoller(
            github=github,
            metrics=metrics,
            repositories=list(settings.github.repositories),
            expected_runners=[r.name for env in settings.environments.values() for r in env.runners],
            interval=settings.github.runner_poll_interval,
        )
        router = build_router()
        ctx = HandlerContext(settings=settings, github=github, engine=engine, store=store, metrics=metrics, jira=jira)

        async def process(event: sansio.Event) -> None:
            installation = event.data.get("installation") or {}
            repository = event.data.get("repository") or {}
            if installation.get("id") is not None and repository.get("full_name"):
                poller.learn(repository=str(repository["full_name"]), installation_id=int(installation["id"]))
            await router.dispatch(event, ctx)

        ingress = WebhookIngress(
            secret=secrets.webhook_secret,
            store=store,
            metrics=metrics,
            accepts=delivery_filter(settings, handled_events(router)),
            process=process,
        )
        runner = web.AppRunner(build_web_app(ingress, metrics), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port)
        await site.start()
    except BaseException:
        await session.close()
        await store.close()
        raise
    bound = runner.addresses[0]
    url = f"http://{bound[0]}:{bound[1]}"
    poller.start()
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
    )
