"""`verify-staging serve` as a real process for the benchmarks: settings, secrets, readiness, memory, stop.

The bot is started exactly as an operator starts it (the console script, secrets in the environment, the example
settings with a fresh database), pointed at a GitHub address nothing answers on: ingest and start-up do not need
GitHub, and the runner poller's failed polls stay in the background where they would be anyway.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import PortReservation, closed_port, reserve_port
from tests.support.settings import secret_env, write_example_settings

ROOT = Path(__file__).resolve().parents[1]
SERVE = Path(sys.executable).parent / "verify-staging"  # the venv this runs in (.venv, or .venv-3.X)
REPOSITORY = "paws360/paws360"


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS from /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class BotProcess:
    """A `verify-staging serve` process under `workdir`; `start()` returns once it is listening."""

    workdir: Path
    webhook_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    # Held until stop(): `serve --reuse-port` binds it beside the reservation; no other process can take it first.
    reservation: PortReservation = field(default_factory=reserve_port)
    process: subprocess.Popen[bytes] | None = None
    # issue 16 §1: the store on this PostgreSQL database (DATABASE_URL) instead of a fresh SQLite file.
    database_url: str | None = None

    @property
    def port(self) -> int:
        return self.reservation.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> tuple[list[str], dict[str, str]]:
        """Writes settings, key and known_hosts; returns the command and its environment."""
        settings = write_example_settings(self.workdir)
        env = {
            **os.environ,
            # No scenario runs in these benchmarks: the SSH key and known_hosts are placeholders.
            **secret_env(self.workdir, webhook_secret=self.webhook_secret, key_in_file=True),
            "GITHUB_API_URL": f"http://127.0.0.1:{closed_port()}",
        }
        if self.database_url is not None:
            env["DATABASE_URL"] = self.database_url
        command = [str(SERVE), "serve", "--settings", str(settings), "--port", str(self.port), "--reuse-port"]
        return command, env

    def start(self, *, timeout: float = 30.0) -> float:
        """Starts the process; returns seconds from spawn to the first 200 from `/healthz`."""
        command, env = self.prepare()
        log = (self.workdir / "bot.log").open("wb")
        began = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = began + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                tail = (self.workdir / "bot.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"verify-staging serve exited with {self.process.returncode}: {tail}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:  # noqa: S310 (loopback http)
                    if answer.status == 200:
                        return time.perf_counter() - began
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"verify-staging serve did not answer /healthz within {timeout:g} s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.reservation.release()
