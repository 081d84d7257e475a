"""Runs one stand-in service in the foreground: `python -m lab.services NAME CONFIG.json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from lab.services import backend, exporter, frontend, grafana, jira, oncall

FACTORIES: dict[str, Callable[[dict[str, Any]], Flask]] = {
    "backend": backend.create_app,
    "frontend": frontend.create_app,
    "jira": jira.create_app,
    "grafana": grafana.create_app,
    "oncall": oncall.create_app,
    "exporter": exporter.create_app,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in FACTORIES:
        print(f"usage: python -m lab.services {{{','.join(FACTORIES)}}} CONFIG.json", file=sys.stderr)
        return 2
    name, config_path = argv
    raw = json.loads(Path(config_path).read_text(encoding="utf-8"))
    app = FACTORIES[name](raw)
    server = make_server("127.0.0.1", int(raw["port"]), app, threaded=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
