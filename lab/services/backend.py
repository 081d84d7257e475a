"""The staging backend stand-in: Spring Boot Actuator-shaped `/actuator/health` and `/actuator/info`.

The version served is the one in the host's release dir (`current`), so a deploy or rollback done on the host
shows up here; `redis_up: false` (fault `redis-down`) reports the redis component DOWN and answers 503. With
`state_path`, a JSON file's `redis_up` overrides it on every request (the lab turns redis-down on and off there).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify


@dataclass(frozen=True)
class BackendConfig:
    port: int
    release_dir: str
    redis_up: bool = True
    db_up: bool = True
    extra_components: tuple[tuple[str, str], ...] = ()  # name -> status, reported as they are
    artifact: str = "backend"  # the build artifact /actuator/info names: the topology's backend unit
    state_path: str = ""  # the lab's run-time switches (`{"redis_up": bool}`); "" for none


def current(config: BackendConfig) -> BackendConfig:
    """The config with the lab's run-time switches applied (an unreadable state file changes nothing)."""
    if not config.state_path:
        return config
    try:
        state = json.loads(Path(config.state_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return config
    redis_up = state.get("redis_up") if isinstance(state, dict) else None
    return replace(config, redis_up=redis_up) if isinstance(redis_up, bool) else config


def read_version(release_dir: Path, name: str = "current") -> str:
    """The version recorded in release_dir/name, or `unknown`."""
    try:
        return (release_dir / name).read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def health_body(config: BackendConfig) -> dict[str, Any]:
    disk = shutil.disk_usage(config.release_dir)
    components: dict[str, Any] = {
        "db": {"status": "UP", "details": {"database": "PostgreSQL", "validationQuery": "isValid()"}}
        if config.db_up
        else {"status": "DOWN", "details": {"error": "org.postgresql.util.PSQLException: Connection refused"}},
        "diskSpace": {
            "status": "UP",
            "details": {"total": disk.total, "free": disk.free, "threshold": 10485760, "exists": True},
        },
        "ping": {"status": "UP"},
        "redis": {"status": "UP", "details": {"version": "7.0.15"}}
        if config.redis_up
        else {
            "status": "DOWN",
            "details": {"error": "org.springframework.data.redis.RedisConnectionFailureException: Unable to connect"},
        },
    }
    components.update({name: {"status": status} for name, status in config.extra_components})
    down = any(c["status"] == "DOWN" for c in components.values())
    return {"status": "DOWN" if down else "UP", "components": components}


def create_app(raw: dict[str, Any]) -> Flask:
    extra = tuple((str(k), str(v)) for k, v in raw.pop("extra_components", []))
    config = BackendConfig(**raw, extra_components=extra)
    app = Flask("lab-backend")

    @app.get("/actuator/health")
    def health() -> tuple[Response, int]:
        body = health_body(current(config))
        return jsonify(body), 503 if body["status"] == "DOWN" else 200

    @app.get("/actuator/info")
    def info() -> Response:
        version = read_version(Path(config.release_dir))
        return jsonify({"build": {"artifact": config.artifact, "name": config.artifact, "version": version}})

    return app
