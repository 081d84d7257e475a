"""Scenario `monitoring` (T042 test 5): the alert rules exist, every dashboard panel has data, and stopping the
primary runner makes the offline alert fire, reach the on-call receiver and be notified, then resolve."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.health_metrics import shows_verdicts_only
from bot.ports import AlertmanagerPort, GrafanaPort, MonitoringError, PanelQueryResult, PromAlert, PrometheusPort
from bot.settings import RunnerRole
from scenarios.context import ScenarioContext, ScenarioError
from scenarios.timing import between, fmt

#: Alertmanager's `integration` label of the on-call receiver's notifications.
INTEGRATION = "webhook"

#: Prometheus and Alertmanager push nothing to the bot, so their state is polled (1 s is finer than their own
#: evaluation and notification cadence, so the measured times are off by at most a second).
POLL_SECONDS = 1.0

#: The deploy panels' series are born when the bot counts a deploy job's `workflow_job` completed delivery, which
#: can come just before this scenario starts (failover's deploy, right before). Prometheus has it after its next
#: scrape of the bot's /metrics, a panel after its next query step (Grafana ends a range at a multiple of the
#: step, which the bot sets to the scrape interval): three scrape intervals cover both and a late scrape.
DASHBOARD_WAIT_SCRAPES = 3


async def run(ctx: ScenarioContext) -> None:
    mon, limits = ctx.env.monitoring, ctx.env.thresholds
    prom, am, grafana = ctx.monitoring(ctx.env)
    async with ctx.step("preflight"):
        await ctx.require_runners_online(RunnerRole.PRIMARY)
        try:
            rules = {r.name: r for r in await prom.rules()}
            await am.receivers()
            panels = await _dashboard_with_data(ctx, grafana)
            sent_before = (await am.notifications_sent()).get(INTEGRATION, 0.0)
            failed_before = (await am.notifications_failed()).get(INTEGRATION, 0.0)
        except MonitoringError as exc:
            raise ScenarioError(f"Preflight: monitoring could not be asked ({exc}).") from exc
    missing = [name for name in mon.alert_rules if name not in rules]
    ctx.criterion(
        "alert-rules",
        "Prometheus has every configured alert rule.",
        not missing,
        observed=sorted(rules),
        threshold=list(mon.alert_rules),
        reason=f"Prometheus lacks the alert rule{'s' if len(missing) > 1 else ''} {', '.join(missing)}.",
    )
    # The verification health panels show verify-staging's own verdicts, not staging's: not judged here.
    verdicts = [p.title or str(p.panel_id) for p in panels if shows_verdicts_only(p.queries)]
    panels = [p for p in panels if not shows_verdicts_only(p.queries)]
    empty = _without_data(panels)
    ctx.criterion(
        "dashboard-data",
        f"Every panel of the Grafana dashboard {mon.grafana_dashboard_uid} returns data.",
        bool(panels) and not empty,
        observed={"panels": len(panels), "without_data": empty, "not_judged": verdicts},
        threshold="every panel has data",
        reason=f"Grafana panels without data: {', '.join(empty)}." if panels else "The dashboard has no panels.",
    )
    rule = rules.get(mon.runner_offline_alert)
    if rule is None:
        record_alert_cannot_fire(ctx, mon.runner_offline_alert)
        return
    primary = ctx.runner(RunnerRole.PRIMARY)
    async with ctx.journal.stopped(host=primary.host, unit=primary.service) as stop:
        async with ctx.step("wait for alert"):
            fired = await _wait_firing(ctx, prom, rule.for_seconds)
        assert stop.injected_at is not None
        fire_s = ctx.measure("alert_fire_s", between(stop.injected_at, fired))
        ctx.within(
            "alert-fires",
            f"{mon.runner_offline_alert} fires in Prometheus within the expected time after the runner stops.",
            fire_s,
            limits.alert_fire,
            reason=f"{mon.runner_offline_alert} did not fire within {limits.alert_fire:g} s of the runner stopping"
            + (f" (it took {fmt(fire_s)})." if fire_s is not None else "."),
        )
        if fired is not None:
            async with ctx.step("wait for notification"):
                await _notification(ctx, am, fired, sent_before, failed_before)
    async with ctx.step("wait for alert to resolve"):
        resolved = await _wait_resolved(ctx, prom)
    ctx.criterion(
        "alert-resolves",
        f"After the primary runner is restarted, {mon.runner_offline_alert} resolves.",
        resolved,
        observed="resolved" if resolved else "firing",
        threshold="resolved",
        reason=f"{mon.runner_offline_alert} was still active {limits.alert_fire:g} s after the runner restarted.",
    )


def record_alert_cannot_fire(ctx: ScenarioContext, name: str) -> None:
    """Record `alert-fires` as not evaluated: without the offline rule there is nothing to fire or resolve."""
    ctx.criterion(
        "alert-fires",
        f"{name} fires in Prometheus within the expected time after the runner stops.",
        None,
        reason=f"{name} cannot fire: Prometheus has no such rule.",
    )


def _without_data(panels: list[PanelQueryResult]) -> list[str]:
    """The panels without data, bar those of verify-staging's own verdicts (see `run`)."""
    judged = [p for p in panels if not shows_verdicts_only(p.queries)]
    return [p.title or str(p.panel_id) for p in judged if p.points == 0 or p.error]


async def _dashboard_with_data(ctx: ScenarioContext, grafana: GrafanaPort) -> list[PanelQueryResult]:
    """The dashboard's panels once every one has data, or as they are when the bound passes: a panel empty only
    because the data this verification produced is not scraped yet is no failure; one still empty after a few
    scrape intervals is."""
    mon = ctx.env.monitoring
    latest: list[PanelQueryResult] = []

    async def filled() -> list[PanelQueryResult] | None:
        nonlocal latest
        latest = await grafana.query_dashboard(mon.grafana_dashboard_uid)
        # A dashboard without panels gets none by waiting.
        return latest if not latest or not _without_data(latest) else None

    bound = DASHBOARD_WAIT_SCRAPES * mon.scrape_interval + POLL_SECONDS
    await ctx.poll(filled, timeout=bound, first_interval=POLL_SECONDS, max_interval=mon.scrape_interval)
    return latest


def _firing(alerts: list[PromAlert], name: str) -> PromAlert | None:
    return next((a for a in alerts if a.name == name and a.state == "firing"), None)


async def _wait_firing(ctx: ScenarioContext, prom: PrometheusPort, for_seconds: float) -> datetime | None:
    """When the alert started firing: Prometheus's activeAt plus the rule's `for:` (its own clock)."""
    name = ctx.env.monitoring.runner_offline_alert

    async def check() -> datetime | None:
        alert = _firing(await prom.alerts(), name)
        if alert is None:
            return None
        if alert.active_at is None:
            return ctx.clock.now()
        return alert.active_at + timedelta(seconds=for_seconds)

    limit = ctx.env.thresholds.alert_fire * 1.5
    return await ctx.poll(check, timeout=limit, first_interval=POLL_SECONDS, max_interval=POLL_SECONDS)


async def _notification(
    ctx: ScenarioContext, am: AlertmanagerPort, fired: datetime, sent_before: float, failed_before: float
) -> None:
    mon, limits = ctx.env.monitoring, ctx.env.thresholds

    async def routed() -> tuple[str, ...] | None:
        alert = next((a for a in await am.alerts() if a.name == mon.runner_offline_alert), None)
        return alert.receivers if alert is not None and mon.oncall_receiver in alert.receivers else None

    async def sent() -> datetime | None:
        count = (await am.notifications_sent()).get(INTEGRATION, 0.0)
        return ctx.clock.now() if count > sent_before else None

    receivers = await ctx.poll(
        routed, timeout=limits.notification, first_interval=POLL_SECONDS, max_interval=POLL_SECONDS
    )
    ctx.criterion(
        "routed-to-oncall",
        f"Alertmanager routes the alert to {mon.oncall_receiver}.",
        receivers is not None,
        observed=list(receivers or ()),
        threshold=mon.oncall_receiver,
        reason=f"Alertmanager did not route {mon.runner_offline_alert} to {mon.oncall_receiver}.",
    )
    at = await ctx.poll(sent, timeout=limits.notification, first_interval=POLL_SECONDS, max_interval=POLL_SECONDS)
    failed = (await am.notifications_failed()).get(INTEGRATION, 0.0) - failed_before
    seconds = ctx.measure("notification_s", max(0.0, between(fired, at) or 0.0) if at else None)
    ctx.criterion(
        "notification-sent",
        f"Alertmanager sent the notification to {mon.oncall_receiver} within the notification threshold.",
        at is not None and failed == 0 and seconds is not None and seconds <= limits.notification,
        observed={"seconds": seconds, "failed": failed},
        threshold=limits.notification,
        unit="s",
        reason="Alertmanager sent no notification to the on-call receiver"
        + (f" ({failed:g} failed)" if failed else "")
        + f" within {limits.notification:g} s of the alert firing.",
    )


async def _wait_resolved(ctx: ScenarioContext, prom: PrometheusPort) -> bool:
    name = ctx.env.monitoring.runner_offline_alert

    async def check() -> bool | None:
        return True if all(a.name != name for a in await prom.alerts()) else None

    limit = ctx.env.thresholds.alert_fire
    return bool(await ctx.poll(check, timeout=limit, first_interval=POLL_SECONDS, max_interval=5))
