"""Starts and stops the simulated GitHub: the aiohttp server (REST, runner protocol, lab control) on 127.0.0.1,
its scheduler tick, the webhook worker, and the runner agent processes.

    github = await start_github(config)          # config: lab.github.config.SimConfig
    await github.spawn_runner("runner-name")     # one of config.runners
    await github.spawn_hosted_pool()
    ...
    await github.stop()                           # stops every agent process it started
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from lab.github import (
    lab_faults,
    manifests,
    rest_actions,
    rest_branches,
    rest_hook,
    rest_logs,
    rest_repo,
    runner_api,
)
from lab.github.config import FlakyFaults, SimConfig
from lab.github.http import github_middleware
from lab.github.openapi import load_description
from lab.github.runners import HOSTED_NAME
from lab.github.sim import SIM, Sim
from lab.github.strict import OPENAPI, openapi_middleware

TOKEN_ENV = "LAB_RUNNER_TOKEN"


@dataclass
class AgentProcess:
    """A runner agent OS process started by the lab."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None


class RunningGitHub:
    """A running simulated GitHub. `url` is its API base (what GITHUB_API_URL should be)."""

    def __init__(self, config: SimConfig, sim: Sim, runner: web.AppRunner, url: str) -> None:
        self.config = config
        self.sim = sim
        self.url = url
        self._runner = runner
        self._tick: asyncio.Task[None] | None = None
        self.agents: dict[str, AgentProcess] = {}

    @property
    def manifest_apps(self) -> manifests.ManifestApps:
        """The Apps registered through the manifest flow, and their pending conversion codes."""
        return self._runner.app[manifests.MANIFEST_APPS]

    def set_webhook_url(self, url: str | None) -> None:
        self.sim.hub.url = url

    def set_flaky(self, faults: FlakyFaults, *, rate_limit_now: bool = False) -> None:
        """Changes the REST faults while running (`rate_limit_now`: the next call meets the rate limit)."""
        self.sim.flaky = faults
        self.sim.flaky_rng = random.Random(faults.seed)
        self.sim.last_rate_limited = 0.0 if rate_limit_now else time.time()

    def set_fault_handlers(self, handlers: lab_faults.FaultHandlers) -> None:
        """Who answers `/_lab/faults` (lab/fault_control.py): the world, which owns every part a fault changes."""
        current = self._runner.app[lab_faults.FAULT_HANDLERS]
        current.change, current.active = handlers.change, handlers.active

    def set_workflow(self, path: str, workflow: dict[str, Any]) -> None:
        """Replaces a workflow file on the default branch (what later dispatches run and the contents API shows)."""
        self.config.workflows[path] = workflow
        self.config.files[path] = yaml.safe_dump(workflow, sort_keys=False)

    def set_runner_labels(self, name: str, labels: list[str]) -> None:
        """Re-registers runner `name` with these labels (as `config.sh --labels` would); queued jobs match anew."""
        self.sim.actions.pool.runners[name].labels = list(labels)

    def agent_command(self, name: str) -> tuple[list[str], dict[str, str]]:
        """argv and extra environment to start the agent of runner `name` (the hosted pool: `hosted-pool`)."""
        if name == HOSTED_NAME:
            token = self.config.hosted_token
        else:
            spec = next((r for r in self.config.runners if r.name == name), None)
            if spec is None:
                raise KeyError(f"no runner named {name!r} in the lab topology")
            token = spec.token
        argv = [sys.executable, "-m", "lab.github.runner_agent", "--url", self.url, "--name", name]
        if name == HOSTED_NAME:
            argv.append("--hosted")
        return argv, {TOKEN_ENV: token, "LAB_TRUTH_LOG": str(self.config.truth.path)}

    async def spawn_runner(self, name: str) -> AgentProcess:
        """Starts the agent process of runner `name` (its session makes the runner online)."""
        current = self.agents.get(name)
        if current is not None and current.running:
            return current
        argv, extra = self.agent_command(name)
        logs = self.config.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"runner-{name}.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *argv, stdout=log, stderr=asyncio.subprocess.STDOUT, env={**os.environ, **extra}
            )
        self.agents[name] = AgentProcess(name, process, log_path)
        self.config.truth.record("runner_started", runner=name, pid=process.pid)
        return self.agents[name]

    async def spawn_hosted_pool(self) -> AgentProcess:
        return await self.spawn_runner(HOSTED_NAME)

    async def stop_runner(self, name: str, *, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM): the agent ends its session, so the runner is offline at once."""
        agent = self.agents.get(name)
        if agent is None or not agent.running:
            return
        self.config.truth.record("runner_stopped", runner=name, pid=agent.pid, how="graceful")
        agent.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(agent.process.wait(), timeout)
        except TimeoutError:
            agent.process.kill()
            await agent.process.wait()

    async def kill_runner(self, name: str) -> None:
        """SIGKILL: the runner goes offline only after the heartbeat timeout."""
        agent = self.agents.get(name)
        if agent is None or not agent.running:
            return
        self.config.truth.record("runner_stopped", runner=name, pid=agent.pid, how="killed")
        agent.process.kill()
        await agent.process.wait()

    async def stop(self) -> None:
        """Stops every agent this server started, the scheduler, the webhook worker and the HTTP server."""
        await asyncio.gather(*(self.stop_runner(name, timeout=5.0) for name in list(self.agents)))
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
        await self.sim.hub.stop()
        await self._runner.cleanup()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.timing.tick)
            self.sim.tick()


def build_app(sim: Sim) -> web.Application:
    # The outer middleware first: a request GitHub does not document is refused before it counts or authenticates.
    app = web.Application(middlewares=[openapi_middleware, github_middleware])
    app[SIM] = sim
    app[OPENAPI] = load_description()
    app.add_routes(runner_api.routes)
    app[lab_faults.FAULT_HANDLERS] = lab_faults.FaultHandlers()
    app.add_routes(lab_faults.routes)
    app.add_routes(rest_actions.routes)
    app.add_routes(rest_logs.routes)
    app.add_routes(rest_repo.routes)
    app.add_routes(rest_hook.routes)
    app.add_routes(rest_branches.routes)
    manifests.install(app)
    return app


async def start_github(config: SimConfig) -> RunningGitHub:
    """Binds 127.0.0.1 on `config.port` (0: a free port) and starts serving; returns the running server."""
    config.workdir.mkdir(parents=True, exist_ok=True)
    sim = Sim(config, "http://placeholder")
    app = build_app(sim)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://{config.host}:{port}"
    sim.shapes.rebase(url)
    github = RunningGitHub(config, sim, runner, url)
    sim.hub.start()
    github._tick = asyncio.create_task(github._ticker())
    return github
