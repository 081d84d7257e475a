"""The runner exporter: per runner, online/busy and node-exporter-named resource metrics, in Prometheus format.

`github_runner_online{runner}` / `github_runner_busy{runner}` come from the simulated GitHub's runners API (the
process table when the API cannot answer). `node_cpu_seconds_total`, `node_memory_MemAvailable_bytes`,
`node_memory_MemTotal_bytes`, `node_filesystem_avail_bytes` and `node_filesystem_size_bytes` describe the runner
agent's process, each with a `runner` label, since every lab runner host shares one machine.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RunnerWatch:
    name: str
    pid_file: str
    work_dir: str


@dataclass(frozen=True)
class ExporterConfig:
    port: int
    runners: tuple[RunnerWatch, ...]
    github_api_url: str = ""
    github_token: str = field(default="", repr=False)
    repository: str = ""


@dataclass(frozen=True)
class RunnerState:
    online: bool
    busy: bool


def _pid(pid_file: str) -> int | None:
    try:
        pid = int(Path(pid_file).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _cpu_seconds(pid: int) -> tuple[float, float] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    # Fields after the command name (which may contain spaces) start at field 3; utime/stime are fields 14/15.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _mem_total() -> int:
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _from_github(config: ExporterConfig) -> dict[str, RunnerState] | None:
    if not config.github_api_url:
        return None
    url = f"{config.github_api_url.rstrip('/')}/repos/{config.repository}/actions/runners?per_page=100"
    request = urllib.request.Request(url)  # noqa: S310 (lab loopback URL)
    request.add_header("Authorization", f"token {config.github_token}")
    request.add_header("Accept", "application/vnd.github+json")
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
            body: dict[str, Any] = json.load(answer)
    except (OSError, ValueError):
        return None
    return {
        str(r["name"]): RunnerState(online=r.get("status") == "online", busy=bool(r.get("busy")))
        for r in body.get("runners", [])
    }


def render(config: ExporterConfig) -> str:
    """The metrics page."""
    states = _from_github(config)
    total = _mem_total()
    lines = [
        "# HELP github_runner_online 1 when GitHub reports the runner online.",
        "# TYPE github_runner_online gauge",
    ]
    busy_lines = ["# HELP github_runner_busy 1 while the runner runs a job.", "# TYPE github_runner_busy gauge"]
    cpu = ["# HELP node_cpu_seconds_total CPU seconds of the runner process.", "# TYPE node_cpu_seconds_total counter"]
    mem_avail = ["# TYPE node_memory_MemAvailable_bytes gauge"]
    mem_total = ["# TYPE node_memory_MemTotal_bytes gauge"]
    fs_avail = ["# TYPE node_filesystem_avail_bytes gauge"]
    fs_size = ["# TYPE node_filesystem_size_bytes gauge"]
    for runner in config.runners:
        pid = _pid(runner.pid_file)
        state = (states or {}).get(runner.name) if states is not None else None
        if state is None:
            state = RunnerState(online=pid is not None, busy=False)
        label = f'runner="{runner.name}"'
        lines.append(f"github_runner_online{{{label}}} {int(state.online)}")
        busy_lines.append(f"github_runner_busy{{{label}}} {int(state.busy)}")
        times = _cpu_seconds(pid) if pid is not None else None
        if times is not None:
            cpu.append(f'node_cpu_seconds_total{{{label},cpu="0",mode="user"}} {times[0]}')
            cpu.append(f'node_cpu_seconds_total{{{label},cpu="0",mode="system"}} {times[1]}')
        # The lab's runner hosts share one machine: "available" is what this runner's process leaves free.
        rss = _rss_bytes(pid) if pid is not None else 0
        mem_total.append(f"node_memory_MemTotal_bytes{{{label}}} {total}")
        mem_avail.append(f"node_memory_MemAvailable_bytes{{{label}}} {max(total - rss, 0)}")
        disk = shutil.disk_usage(runner.work_dir if Path(runner.work_dir).exists() else "/")
        fs = f'{label},mountpoint="/",fstype="ext4",device="/dev/lab"'
        fs_avail.append(f"node_filesystem_avail_bytes{{{fs}}} {disk.free}")
        fs_size.append(f"node_filesystem_size_bytes{{{fs}}} {disk.total}")
    return "\n".join(lines + busy_lines + cpu + mem_avail + mem_total + fs_avail + fs_size) + "\n"


def create_app(raw: dict[str, Any]) -> Flask:
    runners = tuple(RunnerWatch(**r) for r in raw.get("runners", []))
    config = ExporterConfig(**{**raw, "runners": runners})
    app = Flask("lab-runner-exporter")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(render(config), mimetype="text/plain; version=0.0.4")

    return app
