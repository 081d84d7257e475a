"""The adapters the scenarios act through (SSH, HTTP health probes, Prometheus/Alertmanager/Grafana), built in one
place from settings so that `serve` and `demo` wire the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot.adapters.http_probe import AiohttpProbe
from bot.adapters.monitoring import monitoring_factory
from bot.adapters.ssh import AsyncSSH
from bot.ports import HttpProbe, MonitoringFactory, SSHPort
from bot.settings import Settings


@dataclass(frozen=True)
class Adapters:
    ssh: SSHPort
    probe: HttpProbe
    monitoring: MonitoringFactory


def build_adapters(*, settings: Settings, session: aiohttp.ClientSession) -> Adapters:
    """SSH (bot/adapters/ssh.py), HTTP probes (bot/adapters/http_probe.py) and monitoring
    (bot/adapters/monitoring.py)."""
    key_path, known_hosts = settings.secrets.ssh_key_path, settings.secrets.ssh_known_hosts
    # The SSH secrets are checked in one place: the settings loader refuses to start without either, naming it.
    assert key_path is not None and known_hosts is not None, "settings not built by bot.settings.load_settings"
    return Adapters(
        ssh=AsyncSSH(ssh=settings.ssh, key_path=key_path, known_hosts=known_hosts),
        probe=AiohttpProbe(session=session),
        monitoring=monitoring_factory(session, secrets=settings.secrets),
    )
