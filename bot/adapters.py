"""The adapters the scenarios act through (SSH, HTTP health probes, Prometheus/Alertmanager/Grafana), built in one
place from settings so that `serve` and `demo` wire the same ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bot.ports import AlertmanagerPort, GrafanaPort, HttpProbe, PrometheusPort, SSHPort
from bot.settings import EnvironmentSettings, Settings

MonitoringFactory = Callable[[EnvironmentSettings], tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]]


class AdapterUnavailable(RuntimeError):
    """An adapter module is missing from this installation."""


@dataclass(frozen=True)
class Adapters:
    ssh: SSHPort
    probe: HttpProbe
    monitoring: MonitoringFactory


def _factory(module: str, name: str) -> Callable[..., object]:
    try:
        found: Callable[..., object] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise AdapterUnavailable(
            f"{module}.{name} is not available; the bot cannot run scenarios without it."
        ) from None
    return found


def build_adapters(*, settings: Settings, session: aiohttp.ClientSession) -> Adapters:
    """SSH (bot/ssh.py), HTTP probes (bot/http_probe.py) and monitoring (bot/monitoring_client.py `build`)."""
    secrets = settings.secrets
    assert secrets.ssh_key_path is not None and secrets.ssh_known_hosts is not None  # load_settings requires both
    ssh = _factory("bot.ssh", "AsyncSSH")(
        ssh=settings.ssh, key_path=secrets.ssh_key_path, known_hosts=secrets.ssh_known_hosts
    )
    probe = _factory("bot.http_probe", "AiohttpProbe")(session=session)
    monitoring = _factory("bot.monitoring_client", "build")(settings=settings, session=session)
    return Adapters(ssh=ssh, probe=probe, monitoring=monitoring)  # type: ignore[arg-type]
