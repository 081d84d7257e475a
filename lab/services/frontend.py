"""The staging frontend stand-in: `/` answers 200 with the deployed version in the page."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from flask import Flask

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

    return app
