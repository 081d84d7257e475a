"""A lab runner agent: one OS process per self-hosted runner (or the hosted pool), like GitHub's runner service.

It opens a session with the simulated GitHub, long-polls for jobs, acquires the one it is offered, runs its steps
(`uses: "module:function"`, imported here) and reports each step and the job. SIGTERM (a graceful stop, e.g.
`systemctl stop`) fails the running job with GitHub's shutdown message and ends the session at once; SIGKILL
leaves the session to time out.

    python -m lab.github.runner_agent --url URL --name NAME [--token T | $LAB_RUNNER_TOKEN] [--hosted]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from lab.github.expressions import substitute_all
from lab.github.runner_log import ERROR, RunnerLog, stamp
from lab.github.steps import StepContext, StepFailed

SHUTDOWN_MESSAGE = (
    "The runner has received a shutdown signal. This can happen when the runner service is stopped, "
    "or a manually started runner is canceled."
)


def log(line: str) -> None:
    print(line, flush=True)


def resolve(uses: str) -> Callable[[StepContext], None]:
    module_name, _, function = uses.partition(":")
    if not function:
        raise StepFailed(f"uses must be 'module:function', got {uses!r}")
    target = getattr(importlib.import_module(module_name), function, None)
    if not callable(target):
        raise StepFailed(f"{uses}: no such step function")
    return target  # type: ignore[no-any-return]


def _sink(prefix: str, job_log: RunnerLog) -> Callable[[str], None]:
    """Where a step's lines go: the job's log (uploaded to GitHub) and this process's output."""

    def write(line: str) -> None:
        job_log.write(line)
        log(f"{prefix} {line}")

    return write


@dataclass
class JobOutcome:
    conclusion: str
    outputs: dict[str, str]
    message: str | None = None


class Agent:
    def __init__(self, *, url: str, name: str, token: str, hosted: bool) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.token = token
        self.hosted = hosted
        self.sid: str | None = None
        self.long_poll = 2.0
        self.heartbeat_interval = 1.0
        self.stopping = asyncio.Event()
        self.running: dict[int, asyncio.Task[None]] = {}
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=16 if hosted else 1)
        self.http: aiohttp.ClientSession

    def _path(self, suffix: str = "") -> str:
        return f"{self.url}/_lab/runner/sessions{'/' + self.sid if self.sid else ''}{suffix}"

    async def _call(self, method: str, suffix: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        async with self.http.request(method, self._path(suffix), json=body, **kw) as answer:
            data = await answer.json() if answer.status in (200, 201) else None
            return answer.status, data

    async def open_session(self) -> None:
        delay = 0.2
        while not self.stopping.is_set():
            try:
                self.sid = None
                status, data = await self._call("POST", "", {"name": self.name})
                if status == 201:
                    self.sid = str(data["session_id"])
                    self.long_poll = float(data["long_poll"])
                    self.heartbeat_interval = float(data["heartbeat_interval"])
                    log(f"session opened runner={self.name}")
                    return
                log(f"session refused status={status}")
            except (aiohttp.ClientError, TimeoutError) as failure:
                log(f"cannot reach github: {failure!r}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as self.http:
            await self.open_session()
            beat = asyncio.create_task(self._heartbeats())
            try:
                await self._poll_loop()
            finally:
                beat.cancel()
                await self._shutdown()

    async def _until_stopped(self, awaitables: list[asyncio.Future[Any]]) -> bool:
        """Waits for the first of `awaitables` or a stop request; False when the agent is stopping."""
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait([*awaitables, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        return not self.stopping.is_set()

    async def _poll_loop(self) -> None:
        while not self.stopping.is_set():
            if not self.hosted and self.running:
                # A self-hosted runner runs one job at a time: no polling while busy.
                await self._until_stopped([asyncio.ensure_future(t) for t in self.running.values()])
                continue
            poll = asyncio.ensure_future(self._call("GET", "/jobs", params={"wait": str(self.long_poll)}))
            if not await self._until_stopped([poll]) and not poll.done():
                poll.cancel()
                return
            try:
                status, offer = poll.result()
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            if status == 404:
                await self.open_session()
            elif status == 200 and offer and not self.stopping.is_set():
                acquired, names = await self._call("POST", f"/jobs/{offer['job_id']}/acquire")
                if acquired == 200:
                    job_id = int(offer["job_id"])
                    self.running[job_id] = asyncio.create_task(self._job(offer, names or {}))

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            if self.sid is None:
                continue
            try:
                await self._call("POST", "/heartbeat")
            except (aiohttp.ClientError, TimeoutError):
                continue

    async def _job(self, offer: dict[str, Any], names: dict[str, Any]) -> None:
        job_id = int(offer["job_id"])
        log(f"job started id={job_id} name={offer['name']}")
        job_log = RunnerLog()
        # A self-hosted runner prints the name it was configured with; a hosted VM the one the service gave it.
        runner = str(names.get("runner_name") or self.name) if self.hosted else self.name
        group = str(names.get("runner_group_name") or "Default")
        job_log.set_up_job(runner=runner, group=group, machine=runner, job=str(offer["name"]))
        try:
            await self._upload(job_id, job_log)
            outcome = await self._steps(offer, job_log)
        except Exception:  # a bug in a step kind must not kill the runner
            outcome = JobOutcome("failure", {}, traceback.format_exc(limit=3))
            job_log.error(f"The runner failed: {outcome.message}")
        finally:
            self.running.pop(job_id, None)
        if self.stopping.is_set():
            return
        job_log.complete_job()
        await self._upload(job_id, job_log)
        body = {"conclusion": outcome.conclusion, "outputs": outcome.outputs, "message": outcome.message}
        try:
            await self._call("POST", f"/jobs/{job_id}/complete", body)
        except (aiohttp.ClientError, TimeoutError) as failure:
            log(f"cannot report job {job_id}: {failure!r}")
        log(f"job completed id={job_id} conclusion={outcome.conclusion}")

    async def _upload(self, job_id: int, job_log: RunnerLog) -> None:
        """Send the lines written so far; ones that do not get through go with the next upload."""
        lines = job_log.take()
        if not lines:
            return
        try:
            status, _ = await self._call("POST", f"/jobs/{job_id}/logs", {"lines": lines})
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        if status != 200:
            job_log.give_back(lines)

    async def _steps(self, offer: dict[str, Any], job_log: RunnerLog) -> JobOutcome:
        job_id = int(offer["job_id"])
        flat: dict[str, str] = {}
        by_id: dict[str, dict[str, Any]] = {}
        failed: str | None = None
        for step in offer["steps"]:
            number = int(step["number"])
            if failed is not None:
                await self._call(
                    "POST", f"/jobs/{job_id}/steps/{number}", {"status": "completed", "conclusion": "skipped"}
                )
                continue
            _, answer = await self._call("POST", f"/jobs/{job_id}/steps/{number}", {"status": "in_progress"})
            if answer and answer.get("cancelled"):
                return JobOutcome("cancelled", flat)
            with_ = {k: str(v) for k, v in substitute_all(step.get("with") or {}, {"steps": by_id}).items()}
            job_log.step_header(str(step["uses"]), with_)
            ctx = StepContext(
                with_=with_,
                env=dict(offer["env"]),
                job_name=str(offer["name"]),
                run_id=int(offer["run_id"]),
                job_id=job_id,
                runner_name=self.name,
                _log_sink=_sink(f"[{job_id}#{number}]", job_log),
            )
            conclusion = "success"
            try:
                function = resolve(str(step["uses"]))
                await asyncio.get_running_loop().run_in_executor(self.executor, function, ctx)
            except StepFailed as failure:
                conclusion, failed = "failure", str(failure)
                job_log.error(failed)
                log(f"[{job_id}#{number}] step failed: {failure}")
            except Exception as failure:
                conclusion, failed = "failure", f"{type(failure).__name__}: {failure}"
                job_log.error(failed)
                log(f"[{job_id}#{number}] step error: {traceback.format_exc(limit=5)}")
            await self._upload(job_id, job_log)
            flat.update(ctx.outputs)
            if step.get("id"):
                by_id[str(step["id"])] = {"outputs": dict(ctx.outputs), "conclusion": conclusion}
            _, answer = await self._call(
                "POST", f"/jobs/{job_id}/steps/{number}", {"status": "completed", "conclusion": conclusion}
            )
            if answer and answer.get("cancelled"):
                return JobOutcome("cancelled", flat)
        declared = offer.get("outputs") or {}
        outputs = {str(k): str(v) for k, v in substitute_all(declared, {"steps": by_id}).items()} if declared else flat
        return JobOutcome("failure" if failed else "success", outputs, failed)

    async def _shutdown(self) -> None:
        if self.sid is None:
            return
        for job_id in list(self.running):
            body = {"conclusion": "failure", "outputs": {}, "message": SHUTDOWN_MESSAGE}
            try:
                await self._call("POST", f"/jobs/{job_id}/logs", {"lines": [f"{stamp()} {ERROR}{SHUTDOWN_MESSAGE}"]})
                await self._call("POST", f"/jobs/{job_id}/complete", body)
            except (aiohttp.ClientError, TimeoutError):
                pass
        try:
            await self._call("DELETE", "")
            log(f"session ended runner={self.name}")
        except (aiohttp.ClientError, TimeoutError):
            log("could not end the session; it will time out")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.github.runner_agent", description=__doc__)
    parser.add_argument("--url", required=True, help="the simulated GitHub's base URL")
    parser.add_argument("--name", required=True, help="runner name (hosted-pool for the hosted pool)")
    parser.add_argument("--token", default=None, help="registration token (default: $LAB_RUNNER_TOKEN)")
    parser.add_argument("--hosted", action="store_true", help="act as the hosted pool (many jobs at once)")
    args = parser.parse_args(argv)
    token = args.token or os.environ.get("LAB_RUNNER_TOKEN", "")
    if not token:
        parser.error("a registration token is needed: --token or LAB_RUNNER_TOKEN")

    async def run() -> None:
        agent = Agent(url=args.url, name=args.name, token=token, hosted=args.hosted)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, agent.stopping.set)
        await agent.run()

    asyncio.run(run())
    sys.stdout.flush()
    # A step still running in a worker thread cannot be interrupted; the process ends without waiting for it.
    os._exit(0)


if __name__ == "__main__":
    main()
