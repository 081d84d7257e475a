"""The staging frontend stand-in: `/` answers 200 with the deployed version in the page, and `/version` answers it
as JSON `{"version": ...}` (what the bot's `frontend.version_url` reads). The version is the frontend's own, in its
release dir on the backend host, so a rollback that skips the frontend shows up here."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify

from lab.services.backend import read_version


@dataclass(frozen=True)
class FrontendConfig:
    port: int
    release_dir: str


def create_app(raw: dict[str, Any]) -> Flask:
    config = FrontendConfig(**raw)
    app = Flask("lab-frontend")

    @app.get("/")
    def home() -> str:
        version = escape(read_version(Path(config.release_dir)))
        return (
            "<!doctype html><html><head><title>PAWS360</title></head>"
            f'<body><h1>PAWS360</h1><p>version <span id="version">{version}</span></p></body></html>'
        )

    @app.get("/version")
    def version() -> Response:
        return jsonify({"version": read_version(Path(config.release_dir))})

    return app
