"""The doctor's monitoring checks: every alert rule the monitoring scenario needs loaded in Prometheus, the on-call
receiver in Alertmanager's configuration, and the Grafana dashboard present with panels whose queries run."""

from __future__ import annotations

from bot.doctor.result import CheckResult, ok, problem
from bot.ports import AlertmanagerPort, GrafanaPort, PrometheusPort
from bot.settings import MonitoringSettings
from bot.texts import doctor as texts


async def check_rules(prometheus: PrometheusPort, settings: MonitoringSettings) -> CheckResult:
    loaded = {rule.name for rule in await prometheus.rules()}
    missing = [name for name in settings.alert_rules if name not in loaded]
    if missing:
        fix = texts.RULES_FIX.format(missing=", ".join(missing), loaded=", ".join(sorted(loaded)) or texts.NONE)
        return problem(texts.RULES_WHAT, fix)
    return ok(texts.RULES.format(rules=", ".join(settings.alert_rules)))


async def check_receiver(alertmanager: AlertmanagerPort, settings: MonitoringSettings) -> CheckResult:
    receivers = await alertmanager.receivers()
    receiver = settings.oncall_receiver
    if receiver in receivers:
        return ok(texts.RECEIVER.format(receiver=receiver))
    fix = texts.RECEIVER_FIX.format(receivers=", ".join(receivers) or texts.NONE)
    return problem(texts.RECEIVER_WHAT.format(receiver=receiver), fix)


async def check_dashboard(grafana: GrafanaPort, settings: MonitoringSettings) -> CheckResult:
    uid = settings.grafana_dashboard_uid
    panels = await grafana.query_dashboard(uid)
    what = texts.DASHBOARD_WHAT.format(uid=uid)
    if not panels:
        return problem(what, texts.DASHBOARD_EMPTY)
    # A panel without data yet is fine before the first verification; a query that fails is not.
    errors = [f"{p.title}: {p.error}" for p in panels if p.error is not None]
    if errors:
        return problem(what, texts.DASHBOARD_PANEL_ERRORS.format(errors="; ".join(errors)))
    return ok(texts.DASHBOARD.format(uid=uid, panels=len(panels)))
