"""The Grafana stand-in: the HTTP API a dashboard check uses, backed by the lab's real Prometheus.

`GET /api/health`, `GET /api/dashboards/uid/{uid}` (the dashboard JSON from deploy/grafana), `GET /api/datasources`
and `POST /api/ds/query` (panel queries, answered as data frames the way Grafana does). A wrong bearer token is
refused with 401, and so is a request without one, as Grafana answers with anonymous access off (its default):
every API call but `/api/health` needs the service-account token (`grafana_token` in the lab's state file).
"""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

DATASOURCE_UID = "lab-prometheus"
_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")
_DURATION = re.compile(r"^now(?:-(\d+)([smhd]))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class GrafanaConfig:
    port: int
    token: str = field(repr=False)
    prometheus_url: str
    dashboard_path: str
    dashboard_uid: str


def parse_time(value: object, now: float) -> float:
    """Grafana's `from`/`to`: `now`, `now-5m`, or epoch milliseconds (as a string or number)."""
    text = str(value)
    match = _DURATION.match(text)
    if match:
        amount, unit = match.groups()
        return now - (int(amount) * _UNITS[unit] if amount else 0)
    return float(text) / 1000.0


def align_down(t: float, step: float) -> float:
    """Grafana ends (and starts) a panel's range at a multiple of the query step: the last point of a range query
    can lie up to one step before now, which hides a series younger than that."""
    return math.floor(t / step) * step


def expand_variables(expr: str, step: float, span: float) -> str:
    """Grafana's built-in interval variables; any dashboard variable (e.g. $runner) matches everything."""
    builtins = {
        "__rate_interval": f"{max(int(step) * 4, 4)}s",
        "__interval": f"{max(int(step), 1)}s",
        "__range": f"{max(int(span), 1)}s",
    }
    return _VARIABLE.sub(lambda m: builtins.get(m.group(1), ".*"), expr)


def _frames(ref_id: str, result: list[dict[str, Any]], instant: bool) -> list[dict[str, Any]]:
    frames = []
    for series in result:
        labels = {k: v for k, v in series.get("metric", {}).items() if k != "__name__"}
        points = [series["value"]] if instant else series.get("values", [])
        frames.append(
            {
                "schema": {
                    "refId": ref_id,
                    "name": series.get("metric", {}).get("__name__", ""),
                    "fields": [
                        {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}},
                        {"name": "Value", "type": "number", "typeInfo": {"frame": "float64"}, "labels": labels},
                    ],
                },
                "data": {"values": [[int(float(t) * 1000) for t, _ in points], [float(v) for _, v in points]]},
            }
        )
    return frames


def create_app(raw: dict[str, Any]) -> Flask:
    config = GrafanaConfig(**raw)
    app = Flask("lab-grafana")

    def prometheus(path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{config.prometheus_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (lab loopback URL)
            body: dict[str, Any] = json.load(answer)
        return body

    @app.before_request
    def authenticate() -> tuple[Response, int] | None:
        header = request.headers.get("Authorization")
        if request.path == "/api/health" or header == f"Bearer {config.token}":
            return None
        return jsonify({"message": "Unauthorized"}), 401

    @app.get("/api/health")
    def health() -> Response:
        return jsonify({"commit": "lab", "database": "ok", "version": "10.4.0"})

    @app.get("/api/datasources")
    def datasources() -> Response:
        return jsonify(
            [
                {
                    "id": 1,
                    "uid": DATASOURCE_UID,
                    "orgId": 1,
                    "name": "Prometheus",
                    "type": "prometheus",
                    "access": "proxy",
                    "url": config.prometheus_url,
                    "isDefault": True,
                }
            ]
        )

    @app.get("/api/dashboards/uid/<uid>")
    def dashboard(uid: str) -> tuple[Response, int]:
        path = Path(config.dashboard_path)
        if uid != config.dashboard_uid or not path.exists():
            return jsonify({"message": "Dashboard not found"}), 404
        data = json.loads(path.read_text(encoding="utf-8"))
        board = data.get("dashboard", data) if isinstance(data, dict) else data
        meta = {"slug": uid, "url": f"/d/{uid}", "type": "db", "canEdit": False, "provisioned": True}
        return jsonify({"dashboard": board, "meta": meta}), 200

    @app.post("/api/ds/query")
    def ds_query() -> tuple[Response, int]:
        body = request.get_json(silent=True) or {}
        now = time.time()
        start = parse_time(body.get("from", "now-5m"), now)
        end = parse_time(body.get("to", "now"), now)
        results: dict[str, Any] = {}
        for query in body.get("queries", []):
            ref_id = str(query.get("refId", "A"))
            step = max(float(query.get("intervalMs", 15000)) / 1000.0, 1.0)
            expr = expand_variables(str(query.get("expr", "")), step, end - start)
            instant = bool(query.get("instant")) and not query.get("range")
            try:
                if instant:
                    answer = prometheus("/api/v1/query", {"query": expr, "time": str(end)})
                else:
                    # Aligned as Grafana aligns them, both ends whole multiples of the step: a series younger
                    # than one step can be missing from a panel, on the real Grafana as here.
                    first, last = align_down(start, step), align_down(end, step)
                    params = {"query": expr, "start": f"{first:.3f}", "end": f"{last:.3f}", "step": str(step)}
                    answer = prometheus("/api/v1/query_range", params)
            except OSError as error:
                results[ref_id] = {"status": 400, "error": str(error), "frames": []}
                continue
            frames = _frames(ref_id, answer.get("data", {}).get("result", []), instant)
            results[ref_id] = {"status": 200, "frames": frames}
        return jsonify({"results": results}), 200

    return app
