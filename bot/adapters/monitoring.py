"""Asking staging's monitoring what it sees: Prometheus alert rules, alerts and queries; Alertmanager alerts,
receivers and notification counters; Grafana dashboard panels queried through Grafana's own query API
(bot.ports PrometheusPort, AlertmanagerPort, GrafanaPort on aiohttp). Any failure raises MonitoringError."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.logging import REDACTED
from bot.model import parse_ts
from bot.ports import (
    AlertmanagerPort,
    AlertRule,
    AmAlert,
    GrafanaPort,
    MonitoringError,
    PanelQueryResult,
    PromAlert,
    PrometheusPort,
    Sample,
)
from bot.settings import EnvironmentSettings, Secrets
from bot.texts import reports as texts

TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass
class _Http:
    """JSON/text over one session; every failure becomes MonitoringError naming the system and URL.

    `token` goes as `Authorization: Bearer`; a 401/403 names `variable`, the environment variable that sets it.
    """

    system: str
    base_url: str
    session: aiohttp.ClientSession
    token: str | None = field(default=None, repr=False)
    variable: str = ""

    async def call(self, method: str, path: str, *, json: object = None, text: bool = False) -> Any:
        url = self.base_url.rstrip("/") + path
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with self.session.request(method, url, json=json, headers=headers, timeout=TIMEOUT) as resp:
                if resp.status in (401, 403):
                    raise MonitoringError(self._unauthorized(resp.status))
                if resp.status >= 400:
                    raise MonitoringError(f"{self.system} answered {resp.status} to {method} {path}")
                answer = await resp.text() if text else await resp.json(content_type=None)
                return self._masked(answer)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            reason = self._masked(str(exc) or type(exc).__name__)
            raise MonitoringError(f"{self.system} at {self.base_url} could not be asked ({reason})") from exc

    def _unauthorized(self, status: int) -> str:
        what = texts.MONITORING_TOKEN_WHAT.get(self.system, "a token it accepts")
        return texts.MONITORING_UNAUTHORIZED.format(
            system=self.system, status=status, variable=self.variable, what=what
        )

    def _masked(self, value: Any) -> Any:
        """The answer with our token replaced wherever it repeats it (a panel error quoting the request, say), so
        no report, comment or log shown from it carries the secret."""
        if not self.token:
            return value
        if isinstance(value, str):
            return value.replace(self.token, REDACTED)
        if isinstance(value, dict):
            return {k: self._masked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._masked(v) for v in value]
        return value


class PrometheusClient:
    def __init__(self, *, base_url: str, session: aiohttp.ClientSession, token: str | None = None) -> None:
        self._http = _Http("Prometheus", base_url, session, token, "PROMETHEUS_TOKEN")

    async def rules(self) -> list[AlertRule]:
        data = await self._http.call("GET", "/api/v1/rules?type=alert")
        return [
            AlertRule(
                name=str(r["name"]),
                group=str(g.get("name", "")),
                for_seconds=float(r.get("duration") or 0),
                expr=str(r.get("query", "")),
                labels=dict(r.get("labels") or {}),
                annotations=dict(r.get("annotations") or {}),
            )
            for g in data["data"]["groups"]
            for r in g.get("rules", [])
            if r.get("type", "alerting") == "alerting"
        ]

    async def alerts(self) -> list[PromAlert]:
        data = await self._http.call("GET", "/api/v1/alerts")
        return [
            PromAlert(
                name=str(a["labels"].get("alertname", "")),
                state=str(a.get("state", "")),
                labels=dict(a["labels"]),
                active_at=parse_ts(a.get("activeAt")),
            )
            for a in data["data"]["alerts"]
        ]

    async def query(self, expr: str) -> list[Sample]:
        data = await self._http.call("GET", "/api/v1/query?" + urlencode({"query": expr}))
        return [Sample(labels=dict(r["metric"]), value=float(r["value"][1])) for r in data["data"]["result"]]


class AlertmanagerClient:
    def __init__(self, *, base_url: str, session: aiohttp.ClientSession, token: str | None = None) -> None:
        self._http = _Http("Alertmanager", base_url, session, token, "ALERTMANAGER_TOKEN")

    async def alerts(self) -> list[AmAlert]:
        data = await self._http.call("GET", "/api/v2/alerts")
        return [
            AmAlert(
                name=str(a["labels"].get("alertname", "")),
                state=str(a.get("status", {}).get("state", "")),
                labels=dict(a["labels"]),
                receivers=tuple(str(r["name"]) for r in a.get("receivers", [])),
                starts_at=parse_ts(a.get("startsAt")),
            )
            for a in data
        ]

    async def receivers(self) -> list[str]:
        status = await self._http.call("GET", "/api/v2/status")
        config = yaml.safe_load(status.get("config", {}).get("original") or "") or {}
        return [str(r["name"]) for r in config.get("receivers", [])]

    async def notifications_sent(self) -> dict[str, float]:
        return await self._counter("alertmanager_notifications")

    async def notifications_failed(self) -> dict[str, float]:
        return await self._counter("alertmanager_notifications_failed")

    async def _counter(self, family: str) -> dict[str, float]:
        """Sum of a counter family by `integration` from Alertmanager's own /metrics."""
        text = await self._http.call("GET", "/metrics", text=True)
        totals: dict[str, float] = {}
        for fam in text_string_to_metric_families(text):
            if fam.name != family:
                continue
            for s in fam.samples:
                if s.name == f"{family}_total":
                    key = s.labels.get("integration", "")
                    totals[key] = totals.get(key, 0.0) + s.value
        return totals


class GrafanaClient:
    """Queries each panel as Grafana would render it; `token` is a service-account token (real Grafana refuses
    anonymous API calls unless `auth.anonymous` is on)."""

    def __init__(
        self, *, base_url: str, session: aiohttp.ClientSession, token: str | None = None, step: float | None = None
    ) -> None:
        self._http = _Http("Grafana", base_url, session, token, "GRAFANA_TOKEN")
        # The query step (Grafana's intervalMs) as Grafana's UI sets it from the datasource's scrape interval: a
        # panel's range ends at a multiple of the step, so a coarser step hides fresh data for longer.
        self._interval_ms = None if step is None else max(1, round(step * 1000))

    async def query_dashboard(self, uid: str) -> list[PanelQueryResult]:
        dashboard = (await self._http.call("GET", f"/api/dashboards/uid/{uid}"))["dashboard"]
        datasources = await self._http.call("GET", "/api/datasources")
        prom_uid = next((str(d["uid"]) for d in datasources if d.get("type") == "prometheus"), None)
        results = []
        for panel in _panels(dashboard.get("panels", [])):
            results.append(await self._query_panel(panel, prom_uid))
        return results

    async def _query_panel(self, panel: dict[str, Any], prom_uid: str | None) -> PanelQueryResult:
        pid, title = int(panel.get("id", 0)), str(panel.get("title", ""))
        targets = [t for t in panel.get("targets", []) if not t.get("hide")]
        if not targets:
            return PanelQueryResult(pid, title, 0, 0, "the panel has no queries")
        ds = _datasource(panel.get("datasource"), prom_uid)
        queries = [{**t, "refId": t.get("refId", f"Q{i}"), "datasource": _datasource(t.get("datasource"), prom_uid)
                    or ds} for i, t in enumerate(targets)]  # fmt: skip
        if self._interval_ms is not None:
            queries = [{"intervalMs": self._interval_ms, **q} for q in queries]
        answer = await self._http.call(
            "POST", "/api/ds/query", json={"queries": queries, "from": "now-1h", "to": "now"}
        )
        series = points = 0
        errors = []
        for res in (answer.get("results") or {}).values():
            if res.get("error"):
                errors.append(str(res["error"]))
            for frame in res.get("frames") or []:
                series += 1
                columns = (frame.get("data") or {}).get("values") or []
                points += sum(v is not None for col in columns[1:] for v in col)
        exprs = tuple(str(t["expr"]) for t in targets if t.get("expr"))
        return PanelQueryResult(pid, title, series, points, "; ".join(errors) or None, queries=exprs)


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Panels, with those inside collapsed rows."""
    out = []
    for p in panels:
        if p.get("type") == "row":
            out.extend(_panels(p.get("panels", [])))
        else:
            out.append(p)
    return out


def _datasource(ref: object, prom_uid: str | None) -> dict[str, str] | None:
    """`${datasource}` (the dashboard variable) means the Prometheus datasource."""
    uid = ref.get("uid") if isinstance(ref, dict) else ref
    if uid is None:
        return None
    if isinstance(uid, str) and uid.startswith("$"):
        return {"uid": prom_uid, "type": "prometheus"} if prom_uid else None
    return {"uid": str(uid), "type": str(ref.get("type", "prometheus")) if isinstance(ref, dict) else "prometheus"}


def monitoring_factory(
    session: aiohttp.ClientSession, *, secrets: Secrets | None = None
) -> Callable[[EnvironmentSettings], tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]]:
    """What the composition root (bot/runtime/) hands ScenarioEngine(monitoring=...); `secrets` carries the
    optional Bearer tokens (GRAFANA_TOKEN, PROMETHEUS_TOKEN, ALERTMANAGER_TOKEN)."""
    prom_token = secrets.prometheus_token if secrets else None
    am_token = secrets.alertmanager_token if secrets else None
    grafana_token = secrets.grafana_token if secrets else None

    def make(env: EnvironmentSettings) -> tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]:
        mon = env.monitoring
        return (
            PrometheusClient(base_url=mon.prometheus_url, session=session, token=prom_token),
            AlertmanagerClient(base_url=mon.alertmanager_url, session=session, token=am_token),
            GrafanaClient(base_url=mon.grafana_url, session=session, token=grafana_token, step=mon.scrape_interval),
        )

    return make
