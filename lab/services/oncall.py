"""The on-call receiver: records every Alertmanager webhook notification (truth `notification_delivered`).

`POST /alerts` (any path) takes Alertmanager's webhook body; `GET /notifications` lists what arrived, oldest first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from lab.truth import Truth


@dataclass(frozen=True)
class OncallConfig:
    port: int
    truth_log: str
    receiver: str = "oncall-sre"


def create_app(raw: dict[str, Any]) -> Flask:
    config = OncallConfig(**raw)
    truth = Truth(Path(config.truth_log))
    received: list[dict[str, Any]] = []
    lock = threading.Lock()
    app = Flask("lab-oncall")

    @app.get("/notifications")
    def notifications() -> Response:
        with lock:
            return jsonify(list(received))

    @app.post("/", defaults={"path": ""})
    @app.post("/<path:path>")
    def notify(path: str) -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"error": "expected Alertmanager's webhook JSON"}), 400
        alerts = [a for a in body.get("alerts", []) if isinstance(a, dict)]
        names = sorted({str(a.get("labels", {}).get("alertname", "")) for a in alerts})
        with lock:
            received.append(body)
        truth.record(
            "notification_delivered",
            receiver=str(body.get("receiver", config.receiver)),
            status=str(body.get("status", "")),
            alertnames=names,
            alerts=[{"labels": a.get("labels", {}), "status": a.get("status")} for a in alerts],
        )
        return jsonify({"status": "ok"}), 200

    return app
