"""bot/adapters/http_probe.py and bot/adapters/monitoring.py against small local aiohttp servers shaped like the real
APIs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.adapters.http_probe import AiohttpProbe
from bot.adapters.monitoring import AlertmanagerClient, GrafanaClient, PrometheusClient
from bot.ports import Health, MonitoringError

AM_METRICS = """# HELP alertmanager_notifications_total The total number of attempted notifications.
# TYPE alertmanager_notifications_total counter
alertmanager_notifications_total{integration="email"} 0
alertmanager_notifications_total{integration="webhook"} 3
# HELP alertmanager_notifications_failed_total The total number of failed notifications.
# TYPE alertmanager_notifications_failed_total counter
alertmanager_notifications_failed_total{integration="webhook",reason="other"} 1
"""

DASHBOARD = {
    "dashboard": {
        "uid": "verify-staging-runners",
        "panels": [
            {"id": 1, "title": "Runner online", "datasource": {"uid": "${datasource}"},
             "targets": [{"refId": "A", "expr": "verify_staging_runner_online"}]},
            {"type": "row", "panels": [
                {"id": 2, "title": "Disk", "datasource": "${datasource}", "targets": [{"refId": "A", "expr": "disk"}]},
            ]},
        ],
    }
}  # fmt: skip


def _app(seen: list[Any]) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/api/v1/rules")
    async def rules(_: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"groups": [{"name": "runners", "rules": [
            {"type": "alerting", "name": "RunnerOffline", "duration": 120, "query": "up == 0",
             "labels": {"severity": "critical"}, "annotations": {"summary": "s"}}]}]}})  # fmt: skip

    @routes.get("/api/v1/alerts")
    async def alerts(_: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"alerts": [
            {"labels": {"alertname": "RunnerOffline"}, "state": "firing",
             "activeAt": "2026-11-27T09:00:01.5Z"}]}})  # fmt: skip

    @routes.get("/api/v1/query")
    async def query(request: web.Request) -> web.Response:
        seen.append(request.query["query"])
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"runner": "production-runner-01"}, "value": [1, "1"]}]}})  # fmt: skip

    @routes.get("/api/v2/alerts")
    async def am_alerts(_: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "labels": {"alertname": "RunnerOffline"},
                    "status": {"state": "active"},
                    "receivers": [{"name": "oncall-sre"}],
                    "startsAt": "2026-11-27T09:00:04Z",
                }
            ]
        )

    @routes.get("/api/v2/status")
    async def am_status(_: web.Request) -> web.Response:
        original = "route: {receiver: oncall-sre}\nreceivers:\n- name: oncall-sre\n- name: default\n"
        return web.json_response({"config": {"original": original}})

    @routes.get("/metrics")
    async def am_metrics(_: web.Request) -> web.Response:
        return web.Response(text=AM_METRICS)

    @routes.get("/api/dashboards/uid/{uid}")
    async def dashboard(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.json_response(DASHBOARD)

    @routes.get("/api/datasources")
    async def datasources(_: web.Request) -> web.Response:
        return web.json_response([{"uid": "loki1", "type": "loki"}, {"uid": "prom1", "type": "prometheus"}])

    @routes.post("/api/ds/query")
    async def ds_query(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body["queries"][0]["datasource"])
        expr = body["queries"][0]["expr"]
        values = [[1, 2], [1.0, None]] if expr != "disk" else [[], []]
        return web.json_response({"results": {"A": {"frames": [{"data": {"values": values}}]}}})

    @routes.get("/actuator/health")
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "UP"})

    @routes.get("/actuator/info")
    async def info(_: web.Request) -> web.Response:
        return web.json_response({"build": {"version": "1.4.2", "artifact": "paws360-backend"}})

    @routes.get("/")
    async def home(_: web.Request) -> web.Response:
        return web.Response(text="<html>v1.0</html>", content_type="text/html")

    @routes.get("/version")
    async def frontend_version(_: web.Request) -> web.Response:
        return web.json_response({"version": "1.4.1"})

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def stub() -> AsyncIterator[tuple[str, list[Any], aiohttp.ClientSession]]:
    seen: list[Any] = []
    server = TestServer(_app(seen), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield str(server.make_url("")).rstrip("/"), seen, session
    finally:
        await server.close()


async def test_prometheus_rules_alerts_and_query(stub: tuple[str, list[Any], aiohttp.ClientSession]) -> None:
    url, seen, session = stub
    prom = PrometheusClient(base_url=url, session=session)
    [rule] = await prom.rules()
    assert (rule.name, rule.for_seconds, rule.labels["severity"]) == ("RunnerOffline", 120.0, "critical")
    [alert] = await prom.alerts()
    assert alert.state == "firing" and alert.active_at is not None and alert.active_at.second == 1
    [sample] = await prom.query('verify_staging_runner_online{runner="x"} == 0')
    assert sample.value == 1.0 and seen == ['verify_staging_runner_online{runner="x"} == 0']


async def test_alertmanager_alerts_receivers_and_counters(stub: tuple[str, list[Any], aiohttp.ClientSession]) -> None:
    url, _, session = stub
    am = AlertmanagerClient(base_url=url, session=session)
    [alert] = await am.alerts()
    assert alert.receivers == ("oncall-sre",) and alert.state == "active"
    assert await am.receivers() == ["oncall-sre", "default"]
    assert await am.notifications_sent() == {"email": 0.0, "webhook": 3.0}
    assert await am.notifications_failed() == {"webhook": 1.0}


async def test_grafana_queries_every_panel_through_the_prometheus_datasource(
    stub: tuple[str, list[Any], aiohttp.ClientSession],
) -> None:
    url, seen, session = stub
    panels = await GrafanaClient(base_url=url, session=session, token="t0k").query_dashboard("verify-staging-runners")
    assert [(p.title, p.series, p.points) for p in panels] == [("Runner online", 1, 1), ("Disk", 1, 0)]
    assert seen[0] == "Bearer t0k"
    assert seen[1:] == [{"uid": "prom1", "type": "prometheus"}] * 2


async def test_unreachable_monitoring_raises_monitoring_error() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(MonitoringError, match=re.escape("Prometheus at http://127.0.0.1:9 could not be asked")):
            await PrometheusClient(base_url="http://127.0.0.1:9", session=session).rules()


async def test_probe_reads_actuator_json_pages_and_reports_refusal(
    stub: tuple[str, list[Any], aiohttp.ClientSession],
) -> None:
    url, _, session = stub
    probe = AiohttpProbe(session=session)
    health = await probe.health(f"{url}/actuator/health", timeout=5)
    page = await probe.get(f"{url}/", timeout=5)
    refused = await probe.get("http://127.0.0.1:9/", timeout=5)
    assert health == Health(answered=True, status="UP", components={}, error=None)
    assert await probe.version(f"{url}/actuator/info", timeout=5) == "1.4.2"
    assert page.status == 200
    # A page that is not Actuator JSON reads as its HTTP status, never as UP.
    assert (await probe.health(f"{url}/", timeout=5)).status == "HTTP 200"
    assert await probe.version(f"{url}/", timeout=5) is None
    assert refused.status is None and refused.error is not None and "connection refused" in refused.error
    silent = await probe.health("http://127.0.0.1:9/", timeout=5)
    assert not silent.answered and silent.describe().startswith("no answer (connection refused")


async def test_probe_reads_the_version_a_frontend_serves_as_plain_json(
    stub: tuple[str, list[Any], aiohttp.ClientSession],
) -> None:
    url, _, session = stub
    probe = AiohttpProbe(session=session)
    assert await probe.version(f"{url}/version", timeout=5) == "1.4.1"
    assert await probe.version("http://127.0.0.1:9/version", timeout=5) is None
