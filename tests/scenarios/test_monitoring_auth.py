"""Monitoring behind authentication (issue 14 §1): the tokens from the environment reach Prometheus, Alertmanager
and Grafana as Bearer, a 401/403 is an error naming the variable to set, and an answer repeating the token never
carries it further."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.adapters.monitoring import monitoring_factory
from bot.logging import REDACTED
from bot.model import ScenarioConclusion, ScenarioId
from bot.ports import AlertmanagerPort, GrafanaPort, MonitoringError, PrometheusPort
from bot.settings import Secrets
from bot.texts import reports as texts
from tests.scenarios.world import environment, world
from tests.support.settings import example_settings

TOKENS = {
    "GRAFANA_TOKEN": "glsa_grafana_0123456789",
    "PROMETHEUS_TOKEN": "prom-0123456789",
    "ALERTMANAGER_TOKEN": "am-0123456789",
}
RULES = {"status": "success", "data": {"groups": [{"name": "g", "rules": [{"type": "alerting", "name": "R"}]}]}}
DASHBOARD = {"dashboard": {"panels": [{"id": 1, "title": "P", "targets": [{"refId": "A", "expr": "up"}]}]}}


@dataclass
class Guarded:
    """One server answering as Prometheus, Alertmanager and Grafana, each path behind its own token: no
    Authorization header is 401 (as Grafana with anonymous access off), a wrong token 403 (as an auth proxy)."""

    url: str
    session: aiohttp.ClientSession


def _guarded_app() -> web.Application:
    routes = web.RouteTableDef()

    def answer(request: web.Request, variable: str, body: object) -> web.Response:
        header = request.headers.get("Authorization")
        if header is None:
            return web.json_response({"message": "Unauthorized"}, status=401)
        if header != f"Bearer {TOKENS[variable]}":
            return web.json_response({"message": "Forbidden"}, status=403)
        return web.json_response(body)

    @routes.get("/api/v1/rules")
    async def rules(request: web.Request) -> web.Response:
        return answer(request, "PROMETHEUS_TOKEN", RULES)

    @routes.get("/api/v2/status")
    async def status(request: web.Request) -> web.Response:
        return answer(request, "ALERTMANAGER_TOKEN", {"config": {"original": "receivers:\n- name: oncall-sre\n"}})

    @routes.get("/api/dashboards/uid/{uid}")
    async def dashboard(request: web.Request) -> web.Response:
        return answer(request, "GRAFANA_TOKEN", DASHBOARD)

    @routes.get("/api/datasources")
    async def datasources(request: web.Request) -> web.Response:
        return answer(request, "GRAFANA_TOKEN", [{"uid": "prom", "type": "prometheus"}])

    @routes.post("/api/ds/query")
    async def query(request: web.Request) -> web.Response:
        # A datasource error that quotes the request it failed on, Authorization header and all.
        error = f"upstream refused: Authorization: {request.headers.get('Authorization')}"
        return answer(request, "GRAFANA_TOKEN", {"results": {"A": {"error": error, "frames": []}}})

    app = web.Application()
    app.add_routes(routes)
    return app


@pytest.fixture
async def guarded() -> AsyncIterator[Guarded]:
    server = TestServer(_guarded_app(), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield Guarded(str(server.make_url("")).rstrip("/"), session)
    finally:
        await server.close()


def _clients(guarded: Guarded, env: dict[str, str]) -> tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]:
    secrets = Secrets(
        app_id="1",
        private_key="k",
        webhook_secret="w",
        grafana_token=env.get("GRAFANA_TOKEN"),
        prometheus_token=env.get("PROMETHEUS_TOKEN"),
        alertmanager_token=env.get("ALERTMANAGER_TOKEN"),
    )
    base = environment()
    local = replace(base.monitoring, prometheus_url=guarded.url, alertmanager_url=guarded.url, grafana_url=guarded.url)
    env_settings = replace(base, monitoring=local)
    return monitoring_factory(guarded.session, secrets=secrets)(env_settings)


def _unauthorized(system: str, status: int, variable: str) -> str:
    return texts.MONITORING_UNAUTHORIZED.format(
        system=system, status=status, variable=variable, what=texts.MONITORING_TOKEN_WHAT[system]
    )


@pytest.mark.parametrize(("status", "env"), [(401, {}), (403, {k: "wrong-token-value" for k in TOKENS})])
async def test_a_refusal_names_the_variable_to_set_for_each_system(
    guarded: Guarded, status: int, env: dict[str, str]
) -> None:
    prom, am, grafana = _clients(guarded, env)
    with pytest.raises(MonitoringError) as refused_prom:
        await prom.rules()
    with pytest.raises(MonitoringError) as refused_am:
        await am.receivers()
    with pytest.raises(MonitoringError) as refused_grafana:
        await grafana.query_dashboard("verify-staging-runners")
    assert str(refused_prom.value) == _unauthorized("Prometheus", status, "PROMETHEUS_TOKEN")
    assert str(refused_am.value) == _unauthorized("Alertmanager", status, "ALERTMANAGER_TOKEN")
    assert str(refused_grafana.value) == _unauthorized("Grafana", status, "GRAFANA_TOKEN")
    assert str(refused_grafana.value) == (
        f"Grafana answered {status}: set GRAFANA_TOKEN to a service-account token with Viewer access"
    )


async def test_the_tokens_go_as_bearer_and_an_answer_repeating_one_is_masked(guarded: Guarded) -> None:
    prom, am, grafana = _clients(guarded, TOKENS)
    assert [r.name for r in await prom.rules()] == ["R"]
    assert await am.receivers() == ["oncall-sre"]
    [panel] = await grafana.query_dashboard("verify-staging-runners")
    assert panel.error == f"upstream refused: Authorization: Bearer {REDACTED}"
    assert TOKENS["GRAFANA_TOKEN"] not in str(panel)


def test_the_tokens_are_read_from_the_environment_and_never_shown(tmp_path: Path) -> None:
    settings = example_settings(tmp_path, env=TOKENS)
    secrets = settings.secrets
    assert (secrets.grafana_token, secrets.prometheus_token, secrets.alertmanager_token) == tuple(TOKENS.values())
    assert not any(token in repr(settings) for token in TOKENS.values())
    unset = example_settings(tmp_path / "anonymous").secrets
    assert (unset.grafana_token, unset.prometheus_token, unset.alertmanager_token) == (None, None, None)


async def test_a_grafana_refusal_makes_the_monitoring_scenario_an_error_naming_the_variable(tmp_path: Path) -> None:
    refusal = _unauthorized("Grafana", 401, "GRAFANA_TOKEN")
    async with world(tmp_path) as w:
        w.grafana.refusal = refusal
        v = await w.verify(ScenarioId.MONITORING)
    result = v.scenario(ScenarioId.MONITORING)
    assert result.conclusion is ScenarioConclusion.ERROR  # not failed: nothing about staging was judged
    assert result.reason is not None and refusal in result.reason
    assert "set GRAFANA_TOKEN" in result.reason
