"""The lab's monitoring: a real Prometheus and Alertmanager on loopback, with the team's rules scaled to lab time.

Prometheus scrapes the runner exporter and the bot's `/metrics` every second and loads deploy/prometheus/alerts.yml
with every `for:` multiplied by the lab's `alert_for_scale`; Alertmanager is configured from
deploy/alertmanager/alertmanager.yml with its webhook receivers pointed at the lab's on-call receiver. An
`AlertWatcher` records each alert that starts firing in lab-truth.jsonl (`alert_fired`).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from lab.truth import Truth

#: Prometheus scrapes and evaluates rules this often (seconds); the bot's settings carry it as `scrape_interval`.
SCRAPE_INTERVAL_S = 1
INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"
PROMETHEUS_BINARY = "prometheus"
ALERTMANAGER_BINARY = "prometheus-alertmanager"
BLACKHOLE = "lab-blackhole"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class MonitoringUnavailable(Exception):
    """A monitoring binary is missing; the message says which and how to install it."""


def find_binaries() -> tuple[str, str]:
    """Paths of the prometheus and alertmanager binaries, or MonitoringUnavailable naming the install command."""
    found = [shutil.which(PROMETHEUS_BINARY), shutil.which(ALERTMANAGER_BINARY)]
    missing = [name for name, path in zip((PROMETHEUS_BINARY, ALERTMANAGER_BINARY), found, strict=True) if not path]
    if missing or found[0] is None or found[1] is None:
        raise MonitoringUnavailable(f"{' and '.join(missing)} not found; install with: {INSTALL_HINT}")
    return found[0], found[1]


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `5m` or `1h30m`."""
    parts = _DURATION_PART.findall(str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    return f"{max(round(seconds * 1000), 1)}ms"


def scaled_rules(text: str, *, scale: float, drop: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The rule file with every `for:` scaled by `scale` (at least 1 ms) and the alerts in `drop` left out."""
    data = yaml.safe_load(text) or {}
    for group in data.get("groups", []):
        kept = []
        for rule in group.get("rules", []):
            if rule.get("alert") in drop:
                continue
            if "for" in rule:
                rule["for"] = format_duration(parse_duration(str(rule["for"])) * scale)
            kept.append(rule)
        group["rules"] = kept
    return dict(data)


def alertmanager_config(text: str | None, *, receiver_url: str, notify: bool) -> dict[str, Any]:
    """The team's Alertmanager config, with webhook URLs pointed at the lab's receiver and waits in lab time.

    `notify=False` (fault no-notification) keeps the receiver defined but routes nothing to it.
    """
    data: dict[str, Any] = yaml.safe_load(text) if text else {}
    data = data or {"route": {"receiver": "oncall-sre"}, "receivers": [{"name": "oncall-sre", "webhook_configs": [{}]}]}
    for receiver in data.get("receivers", []):
        for hook in receiver.get("webhook_configs", []) or []:
            hook["url"] = receiver_url
            hook["send_resolved"] = True
    route = data.setdefault("route", {})
    route.update({"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"})
    if not notify:
        oncall = {r.get("name") for r in data.get("receivers", []) if r.get("webhook_configs")}
        data["receivers"] = [*data.get("receivers", []), {"name": BLACKHOLE}]
        _reroute(route, oncall)
    return data


def route_receiver(path: Path) -> str:
    """The receiver the team's Alertmanager config routes every alert to (its top route's `receiver`)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str((data.get("route") or {}).get("receiver") or "oncall-sre")


def _reroute(route: dict[str, Any], away_from: set[str | None]) -> None:
    if route.get("receiver") in away_from:
        route["receiver"] = BLACKHOLE
    for child in route.get("routes", []) or []:
        _reroute(child, away_from)


def bot_metrics_target(webhook_url: str | None) -> tuple[str, str] | None:
    """(host:port, scheme) of the bot's /metrics, derived from where the simulated GitHub delivers webhooks."""
    if not webhook_url:
        return None
    parts = urlsplit(webhook_url)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}", parts.scheme or "http"


def prometheus_config(
    *, exporter: str, bot: tuple[str, str] | None, alertmanager: str, rules_path: Path
) -> dict[str, Any]:
    scrapes: list[dict[str, Any]] = [
        {"job_name": "runner-exporter", "static_configs": [{"targets": [exporter]}]},
    ]
    if bot is not None:
        scrapes.append(
            {
                "job_name": "verify-staging",
                "honor_labels": True,  # the bot's series carry a `job` label of their own (the workflow job)
                "metrics_path": "/metrics",
                "scheme": bot[1],
                "static_configs": [{"targets": [bot[0]]}],
            }
        )
    return {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL_S}s",
            "scrape_timeout": f"{SCRAPE_INTERVAL_S * 900}ms",
        },
        "rule_files": [str(rules_path)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": scrapes,
    }


def _daemon_argv(binary: str, config: Path, storage: str, port: int, *extra: str) -> tuple[str, ...]:
    """Prometheus and Alertmanager share their flags for the config, the storage, the listener and logging."""
    config_flag, listen_flag = f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"
    return (binary, config_flag, storage, listen_flag, *extra, "--log.level=warn")


def prometheus_argv(binary: str, *, config: Path, data_dir: Path, port: int) -> tuple[str, ...]:
    return _daemon_argv(binary, config, f"--storage.tsdb.path={data_dir}", port, "--storage.tsdb.retention.time=1d")


def alertmanager_argv(binary: str, *, config: Path, data_dir: Path, port: int) -> tuple[str, ...]:
    # The cluster listener defaults to 0.0.0.0:9094.
    return _daemon_argv(binary, config, f"--storage.path={data_dir}", port, "--cluster.listen-address=")


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 (lab loopback URL)
        return json.load(answer)


def _targets_up(prometheus_url: str, job: str) -> bool:
    try:
        body = get_json(f"{prometheus_url}/api/v1/targets?state=active")
    except (OSError, ValueError):
        return False
    targets = body.get("data", {}).get("activeTargets", [])
    return any(t.get("labels", {}).get("job") == job and t.get("health") == "up" for t in targets)


async def wait_target_up(prometheus_url: str, job: str, *, timeout: float) -> None:
    """Waits until Prometheus has scraped `job` successfully (its first scrape comes ~6 s after start)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(_targets_up, prometheus_url, job):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"Prometheus did not scrape {job} within {timeout:.0f} s")


@dataclass
class AlertWatcher:
    """Polls Prometheus' alerts and records `alert_fired` once each time an alert starts firing."""

    prometheus_url: str
    truth: Truth
    interval: float = 0.25
    _firing: set[str] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self.interval)

    async def poll(self) -> None:
        try:
            body = await asyncio.to_thread(get_json, f"{self.prometheus_url}/api/v1/alerts")
        except (OSError, ValueError):
            return
        now_firing: set[str] = set()
        for alert in body.get("data", {}).get("alerts", []):
            if alert.get("state") != "firing":
                continue
            labels = alert.get("labels", {})
            key = json.dumps(labels, sort_keys=True)
            now_firing.add(key)
            if key not in self._firing:
                self.truth.record(
                    "alert_fired",
                    alertname=labels.get("alertname", ""),
                    labels=labels,
                    active_at=alert.get("activeAt"),
                )
        self._firing = now_firing


@dataclass(frozen=True)
class MonitoringPlan:
    """Where the lab's monitoring runs and what it reads."""

    workdir: Path
    prometheus_port: int
    alertmanager_port: int
    exporter: str  # host:port
    webhook_url: str | None
    rules_path: Path
    alertmanager_path: Path
    receiver_url: str
    for_scale: float
    drop_rules: frozenset[str] = frozenset()
    notify: bool = True


def write_configs(plan: MonitoringPlan) -> tuple[Path, Path]:
    """Writes prometheus.yml (+ the scaled alerts.yml) and alertmanager.yml under plan.workdir."""
    rules_text = plan.rules_path.read_text(encoding="utf-8") if plan.rules_path.exists() else "groups: []\n"
    rules = write_yaml(
        plan.workdir / "alerts.yml", scaled_rules(rules_text, scale=plan.for_scale, drop=plan.drop_rules)
    )
    am_text = plan.alertmanager_path.read_text(encoding="utf-8") if plan.alertmanager_path.exists() else None
    am_file = write_yaml(
        plan.workdir / "alertmanager.yml",
        alertmanager_config(am_text, receiver_url=plan.receiver_url, notify=plan.notify),
    )
    prom_file = write_yaml(
        plan.workdir / "prometheus.yml",
        prometheus_config(
            exporter=plan.exporter,
            bot=bot_metrics_target(plan.webhook_url),
            alertmanager=f"127.0.0.1:{plan.alertmanager_port}",
            rules_path=rules,
        ),
    )
    return prom_file, am_file


def monitoring_argvs(plan: MonitoringPlan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(prometheus argv, alertmanager argv), configs written; MonitoringUnavailable if a binary is missing."""
    prometheus_bin, alertmanager_bin = find_binaries()
    prom_file, am_file = write_configs(plan)
    return (
        prometheus_argv(
            prometheus_bin, config=prom_file, data_dir=plan.workdir / "prom-data", port=plan.prometheus_port
        ),
        alertmanager_argv(
            alertmanager_bin, config=am_file, data_dir=plan.workdir / "am-data", port=plan.alertmanager_port
        ),
    )
