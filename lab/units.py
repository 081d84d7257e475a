"""The lab's systemd stand-in: a table of units per host, each one a real OS process the lab can stop and start.

`systemctl` over the lab's SSH acts on these units: stopping a runner unit ends its runner agent (the runner goes
offline), stopping the backend unit stops the backend's HTTP server. Every child runs in its own process group
and is killed by the kernel if the lab dies (PR_SET_PDEATHSIG), so no process outlives the lab.
"""

from __future__ import annotations

import asyncio
import ctypes
import fnmatch
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from lab.truth import Truth

_PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 5.0
READY_TIMEOUT = 10.0


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one child process."""

    argv: tuple[str, ...]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    """A free loopback port (bound and released; the lab starts its server on it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. The kernel sends SIGKILL when the thread that forked us ends, so
    # children must be spawned from the lab's main (event loop) thread, never from a worker thread.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(spec: ProcessSpec) -> subprocess.Popen[bytes]:
    """Starts a child in its own process group that dies with the lab; output goes to spec.log_path."""
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    with spec.log_path.open("ab") as log:
        return subprocess.Popen(
            spec.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


async def terminate(proc: subprocess.Popen[bytes], *, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the child's process group, SIGKILL if it has not ended within `timeout`."""
    if proc.poll() is not None:
        return
    _signal_group(proc, signal.SIGTERM)
    try:
        await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        await asyncio.to_thread(proc.wait, timeout)


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass


class UnitKind(StrEnum):
    RUNNER = "runner"
    SERVICE = "service"


def unit_name(name: str) -> str:
    """systemd's rule: a unit named without a type suffix is a .service."""
    return name if "." in name.rsplit("/", 1)[-1] else f"{name}.service"


@dataclass
class Unit:
    """One unit on one lab host: its process spec, and the process while it runs."""

    name: str
    host: str
    kind: UnitKind
    subject: str  # the runner name or the service name, as the truth log names it
    spec: ProcessSpec
    ready_url: str | None = None  # `start` returns once this answers, as a Type=notify unit would
    pid_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    #: A lab setting: the unit's process dies at once on start (a broken binary or config). As with a Type=simple
    #: unit, `systemctl start` still exits 0; the unit is then `failed`.
    fails_to_start: bool = False
    failed: bool = False

    def is_active(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def active_state(self) -> str:
        """systemctl is-active's word: active, failed or inactive."""
        if self.is_active():
            return "active"
        return "failed" if self.failed else "inactive"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.is_active() and self.proc is not None else None

    def _truth_fields(self) -> dict[str, str]:
        return {str(self.kind.value): self.subject, "host": self.host, "unit": self.name}

    async def start(self, truth: Truth) -> None:
        if self.is_active():
            return
        if self.fails_to_start:
            self.failed = True
            truth.record(f"{self.kind.value}_start_failed", **self._truth_fields())
            return
        self.failed = False
        self.proc = spawn(self.spec)
        if self.pid_file is not None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(str(self.proc.pid), encoding="utf-8")
        truth.record(f"{self.kind.value}_started", **self._truth_fields())
        if self.ready_url is not None:
            await wait_http(self.ready_url, timeout=READY_TIMEOUT, proc=self.proc)

    async def stop(self, truth: Truth) -> None:
        self.failed = False
        if self.proc is None or not self.is_active():
            return
        await terminate(self.proc)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
        truth.record(f"{self.kind.value}_stopped", **self._truth_fields())


class UnitTable:
    """Every unit of every lab host."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self._units: dict[tuple[str, str], Unit] = {}

    def add(self, unit: Unit) -> None:
        self._units[(unit.host, unit.name)] = unit

    def get(self, host: str, name: str) -> Unit:
        return self._units[(host, unit_name(name))]

    def on_host(self, host: str) -> list[Unit]:
        return [u for (h, _), u in self._units.items() if h == host]

    def match(self, host: str, pattern: str) -> list[Unit]:
        """Units of `host` whose name matches a shell-style pattern (systemctl's glob rules)."""
        wanted = unit_name(pattern) if not any(c in pattern for c in "*?[") else pattern
        return [u for u in self.on_host(host) if fnmatch.fnmatchcase(u.name, wanted)]

    def all(self) -> list[Unit]:
        return list(self._units.values())

    async def start_all(self) -> None:
        await asyncio.gather(*(u.start(self.truth) for u in self.all()))

    async def stop_all(self) -> None:
        await asyncio.gather(*(u.stop(self.truth) for u in self.all()))


async def wait_http(url: str, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Waits until `url` answers any HTTP status (the server is listening); raises TimeoutError otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with status {proc.returncode}")
        if await asyncio.to_thread(_answers, url):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0):  # noqa: S310 (lab loopback URL)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
