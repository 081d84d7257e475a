"""The adapters the scenarios act through (SSH, HTTP health probes, Prometheus/Alertmanager/Grafana), built in one
place from settings so that `serve` and `demo` wire the same ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from bot.http_probe import AiohttpProbe
from bot.monitoring import monitoring_factory
from bot.ports import AlertmanagerPort, GrafanaPort, HttpProbe, PrometheusPort, SSHPort
from bot.settings import EnvironmentSettings, Settings
from bot.ssh import AsyncSSH

MonitoringFactory = Callable[[EnvironmentSettings], tuple[PrometheusPort, AlertmanagerPort, GrafanaPort]]


class AdapterUnavailable(RuntimeError):
    """An adapter cannot be built from the settings given (e.g. no SSH key configured)."""


@dataclass(frozen=True)
class Adapters:
    ssh: SSHPort
    probe: HttpProbe
    monitoring: MonitoringFactory


def build_adapters(*, settings: Settings, session: aiohttp.ClientSession) -> Adapters:
    """SSH (bot/ssh.py), HTTP probes (bot/http_probe.py) and monitoring (bot/monitoring.py)."""
    secrets = settings.secrets
    if secrets.ssh_key_path is None or secrets.ssh_known_hosts is None:
        raise AdapterUnavailable("SSH_KEY_PATH and SSH_KNOWN_HOSTS must both be set for the bot to reach the hosts.")
    return Adapters(
        ssh=AsyncSSH(ssh=settings.ssh, key_path=secrets.ssh_key_path, known_hosts=secrets.ssh_known_hosts),
        probe=AiohttpProbe(session=session),
        monitoring=monitoring_factory(session),
    )
