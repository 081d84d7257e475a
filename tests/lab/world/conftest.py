"""Helpers for the lab world tests: start one stand-in service process on a free port and stop it afterwards."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lab.services import EXIT_PORT_TAKEN, service_argv
from lab.services.launch import PORT_ATTEMPTS
from lab.units import ProcessSpec, free_port, spawn, terminate, wait_http

ServiceStarter = Callable[[str, dict[str, Any]], Any]


def write_config(tmp: Path, name: str, config: dict[str, Any]) -> str:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


@asynccontextmanager
async def running_service(tmp: Path, name: str, config: dict[str, Any]) -> AsyncIterator[str]:
    """Runs `python -m lab.services NAME` with `config` (port filled in); yields its base URL. A port another
    process took between the pick and the service's bind is picked again, as the lab does."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        proc: subprocess.Popen[bytes] = spawn(
            ProcessSpec(
                argv=service_argv(name, write_config(tmp, name, {**config, "port": port})),
                log_path=tmp / f"{name}.log",
            )
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_http(url + "/", timeout=15, proc=proc)
            break
        except RuntimeError:
            if proc.poll() != EXIT_PORT_TAKEN or attempt == PORT_ATTEMPTS:
                raise
    try:
        yield url
    finally:
        await terminate(proc)
