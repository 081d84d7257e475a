"""`python -m lab` as the tests' one staging world: start it, read its state file, stop it, find its children."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import LaunchedLab, descendants_of, launch_lab

UP_TIMEOUT = 40.0  # the contract asks for < 20 s; two CPUs shared with other test runs need headroom


@dataclass
class LabProcess:
    launched: LaunchedLab
    state: dict[str, Any]
    workdir: Path

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.launched.proc

    def gh(self, method: str, path: str, *, user: str | None = None, **kwargs: Any) -> requests.Response:
        login = user or self.state["authorized_user"]
        headers = {
            "Authorization": f"token {self.state['user_tokens'][login]}",
            "Accept": "application/vnd.github+json",
        }
        return requests.request(method, self.state["github_api_url"] + path, headers=headers, timeout=10, **kwargs)

    def runner_status(self, name: str) -> str:
        runners = self.gh("GET", f"/repos/{self.state['repository']}/actions/runners").json()["runners"]
        return next(str(r["status"]) for r in runners if r["name"] == name)

    def descendants(self) -> list[int]:
        return descendants_of(self.proc.pid)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        self.launched.stop(signum, timeout=30)


@contextlib.contextmanager
def lab_delivering_to_a_receiver(workdir: Path, *args: str) -> Iterator[LabProcess]:
    """A lab whose webhooks go to a FakeBotMetrics receiver; SIGKILLed (every child must end) when the block ends."""
    receiver = FakeBotMetrics()  # somewhere for webhooks to go
    try:
        running = start_lab(workdir, "--webhook-url", receiver.webhook_url, *args)
        try:
            yield running
        finally:
            running.stop(signal.SIGKILL)
    finally:
        receiver.close()


def start_lab(workdir: Path, *args: str) -> LabProcess:
    launched = launch_lab(
        ["--workdir", str(workdir / "lab"), *args],
        state_file=workdir / "state.json",
        log=workdir / "lab.out",
        timeout=UP_TIMEOUT,
    )
    return LabProcess(launched=launched, state=launched.state, workdir=workdir / "lab")


class FakeBotMetrics:
    """Stands in for the bot's /metrics (no bot in these tests): `verify_staging_runner_online` mirrors GitHub's
    runners API, as the bot's runner poller does; POST /webhooks answers 202 and keeps nothing."""

    def __init__(self) -> None:
        self.lab: LabProcess | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = outer.metrics().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def metrics(self) -> str:
        if self.lab is None:
            return ""
        try:
            runners = self.lab.gh("GET", f"/repos/{self.lab.state['repository']}/actions/runners").json()["runners"]
        except (requests.RequestException, ValueError, KeyError):
            return ""
        lines = ["# TYPE verify_staging_runner_online gauge"]
        lines += [
            f'verify_staging_runner_online{{runner="{r["name"]}"}} {int(r["status"] == "online")}' for r in runners
        ]
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
