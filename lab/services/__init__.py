"""The lab's stand-in services (backend, frontend, JIRA, Grafana, on-call receiver, runner exporter).

Each one is a Flask app served by werkzeug on 127.0.0.1 in its own process: `python -m lab.services NAME CONFIG`,
where CONFIG is a JSON file the lab writes. `service_argv` builds that command line.
"""

from __future__ import annotations

import errno
import sys

#: A service's exit status when another process bound its port first (the lab starts it again on another port).
EXIT_PORT_TAKEN = errno.EADDRINUSE


def service_argv(name: str, config_path: str) -> tuple[str, ...]:
    """The command line that runs stand-in service `name` with the JSON config at `config_path`."""
    return (sys.executable, "-m", "lab.services", name, config_path)
