"""Runs one stand-in service in the foreground: `python -m lab.services NAME CONFIG.json`.

Exit status 98 (EADDRINUSE) when its port was taken by another process first: the lab then starts it on another.
"""

from __future__ import annotations

import errno
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from lab.services import EXIT_PORT_TAKEN, backend, exporter, frontend, grafana, jira, oncall

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
    # Bound here rather than by werkzeug, which answers a taken port with exit status 1 like any other failure.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", int(raw["port"])))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(f"lab.services {name}: port {raw['port']} is taken ({error})", file=sys.stderr)
        return EXIT_PORT_TAKEN
    sock.listen(128)
    server = make_server("127.0.0.1", int(raw["port"]), app, threaded=True, fd=sock.fileno())
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
