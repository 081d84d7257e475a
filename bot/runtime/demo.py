"""`verify-staging demo`: the whole product on a laptop. Starts the lab (its own process) and the bot (in this
process, composed exactly as `serve`), posts `/verify-staging` on the lab pull request as the lab's authorized
user, shows live progress, prints the results and writes the report directory.

Exit status (contract): 0 every selected scenario passed, 1 one failed or errored, 2 something could not start
(one line on stderr saying what and how to mend it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from bot.adapters.clock import SystemClock
from bot.logging import configure_logging
from bot.model import Verification, VerificationConclusion
from bot.reporting import html_base, render_comment, write_report_dir
from bot.reporting.terminal import TerminalReporter
from bot.runtime.app import Runtime, start_runtime
from bot.settings import Settings, SettingsError, load_settings
from bot.texts import reports as texts

LAB_START_TIMEOUT = 180.0  # Prometheus alone takes ~6 s to first scrape; a cold machine is slower
VERIFICATION_START_TIMEOUT = 60.0
VERIFICATION_TIMEOUT = 900.0
EXIT_PASSED, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2


class CannotRun(Exception):
    """Something the demo needs could not start: `what` happened, `mend` says what to do about it."""

    def __init__(self, what: str, mend: str) -> None:
        super().__init__(what)
        self.what, self.mend = what, mend


def run_demo(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_demo(args))
    except CannotRun as exc:
        print(texts.DEMO_CANNOT_START.format(what=exc.what, mend=exc.mend), file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        print(texts.DEMO_CANNOT_START.format(what="interrupted", mend="run it again"), file=sys.stderr)
        return EXIT_CANNOT_RUN


def reserve_port() -> socket.socket:
    """A loopback port held for the bot from before the lab starts (the lab must be told where to deliver) until
    the bot listens on it beside this socket (SO_REUSEPORT). Bound but never listening, it keeps every other
    process from taking the port meanwhile; picking a free port and closing it left a window of the lab's whole
    start-up for another process to take it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def lab_command(args: argparse.Namespace, *, state_file: Path, webhook_url: str, workdir: Path) -> list[str]:
    argv = [sys.executable, "-m", "lab", "--state-file", str(state_file), "--webhook-url", webhook_url]
    argv += ["--workdir", str(workdir)]
    for fault in args.fault or ():
        argv += ["--fault", fault]
    if args.topology:
        argv += ["--topology", str(args.topology)]
    return argv


def bot_environment(state: Mapping[str, Any]) -> dict[str, str]:
    """The secrets `serve` would read from its environment, taken from the lab's state file instead."""
    return {
        "GITHUB_APP_ID": str(state["app_id"]),
        "GITHUB_PRIVATE_KEY_PATH": str(state["app_private_key_path"]),
        "GITHUB_WEBHOOK_SECRET": str(state["webhook_secret"]),
        "GITHUB_API_URL": str(state["github_api_url"]),
        "JIRA_URL": str(state["jira_url"]),
        "JIRA_TOKEN": str(state["jira_token"]),
        "SSH_KEY_PATH": str(state["ssh_key_path"]),
        "SSH_KNOWN_HOSTS": str(state["ssh_known_hosts"]),
        "GRAFANA_TOKEN": str(state["grafana_token"]),
    }


async def _demo(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="verify-staging-demo-"))
    reservation = reserve_port()
    port = int(reservation.getsockname()[1])
    state_file = workdir / "lab-state.json"
    lab_log = workdir / "lab.log"
    command = lab_command(
        args, state_file=state_file, webhook_url=f"http://127.0.0.1:{port}/webhooks", workdir=workdir / "lab"
    )
    # The lab stops at EOF on this pipe: when the demo ends in any way, SIGKILL included, the kernel closes
    # `parent_end` and no lab process is left running.
    lab_end, parent_end = os.pipe()
    print(f"starting the lab (logs in {workdir})", flush=True)
    with lab_log.open("wb") as log_file, (workdir / "bot.log").open("w", encoding="utf-8") as bot_log:
        try:
            lab = await asyncio.create_subprocess_exec(
                *command,
                "--parent-fd",
                str(lab_end),
                stdout=log_file,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(lab_end,),
            )
        finally:
            os.close(lab_end)
        try:
            state = await _wait_for_lab(lab, state_file)
            configure_logging(json=True, stream=bot_log)
            return await _with_lab(args, state, port=port)
        finally:
            await _stop(lab)
            os.close(parent_end)
            reservation.close()


def _read_state(path: Path) -> dict[str, Any] | None:
    # The lab writes the file atomically (rename), so it is either absent or complete.
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


async def _wait_for_lab(lab: asyncio.subprocess.Process, state_file: Path) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LAB_START_TIMEOUT
    while loop.time() < deadline:
        state = await asyncio.to_thread(_read_state, state_file)
        if state is not None:
            return state
        if lab.returncode is not None:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lab.wait(), 0.2)
    error = b""
    if lab.returncode is not None and lab.stderr is not None:
        error = await lab.stderr.read()
    last = (error.decode(errors="replace").strip().splitlines() or ["it did not come up in time"])[-1]
    raise CannotRun(f"the lab could not start ({last})", "see the lab's message; `python -m lab` runs it alone")


async def _with_lab(args: argparse.Namespace, state: Mapping[str, Any], *, port: int) -> int:
    try:
        settings = load_settings(str(state["settings_path"]), bot_environment(state))
    except SettingsError as exc:
        raise CannotRun(f"the lab's settings were refused ({exc})", "check the lab's topology file") from None
    clock = SystemClock()
    terminal = TerminalReporter(out=sys.stdout, clock=clock)
    try:
        runtime = await start_runtime(settings, port=port, reuse_port=True, extra_reporters=(terminal,), clock=clock)
    except OSError as exc:
        raise CannotRun(f"the bot could not start ({exc})", "free the port or run the demo again") from None
    try:
        return await _verify(args, settings, state, runtime, terminal)
    finally:
        await runtime.stop()


async def _verify(
    args: argparse.Namespace,
    settings: Settings,
    state: Mapping[str, Any],
    runtime: Runtime,
    terminal: TerminalReporter,
) -> int:
    repository = str(state["repository"])
    number = int(state["pull_request"]["number"])
    token = str(state["user_tokens"][state["authorized_user"]])
    api = str(state["github_api_url"]).rstrip("/")
    scenarios = " ".join(s.value for s in args.scenarios or ())
    body = f"/verify-staging {scenarios}".strip()
    async with aiohttp.ClientSession(headers={"Authorization": f"token {token}"}) as session:
        await _github(session, "POST", f"{api}/repos/{repository}/issues/{number}/comments", {"body": body})
        print(f"{state['authorized_user']} commented `{body}` on {repository}#{number}", flush=True)
        try:
            await asyncio.wait_for(terminal.started_event.wait(), VERIFICATION_START_TIMEOUT)
        except TimeoutError:
            raise CannotRun("the bot did not start a verification", f"see {api} replies and bot.log") from None
        await asyncio.wait_for(terminal.done.wait(), VERIFICATION_TIMEOUT)
        verification = terminal.verification
        assert verification is not None
        report_md = await _final_comment(session, api, repository, verification, settings)
    directory = Path(args.report_dir)
    # Drawing the timeline takes a second of CPU: off the event loop, where the bot still answers the lab.
    await asyncio.to_thread(
        write_report_dir, directory, verification, report_md=report_md, truth_log=Path(str(state["truth_log"]))
    )
    print(texts.DEMO_PR.format(url=f"{html_base(api)}/{repository}/pull/{number}"))
    print(texts.DEMO_REPORT_WRITTEN.format(directory=directory))
    return EXIT_PASSED if verification.conclusion is VerificationConclusion.SUCCESS else EXIT_FAILED


async def _final_comment(
    session: aiohttp.ClientSession, api: str, repository: str, verification: Verification, settings: Settings
) -> str:
    """report.md is what the pull request shows: the comment as GitHub holds it, rendered only if unreadable."""
    if verification.comment_id is not None:
        with contextlib.suppress(aiohttp.ClientError, RuntimeError):
            data = await _github(session, "GET", f"{api}/repos/{repository}/issues/comments/{verification.comment_id}")
            return str(data["body"])
    return render_comment(
        verification, base_url=html_base(settings.secrets.api_url), signoff_team=settings.authorization.signoff_team
    )


async def _github(session: aiohttp.ClientSession, method: str, url: str, body: object = None) -> dict[str, Any]:
    """One REST call as the lab user, retried on 5xx and rate limits (the `github-flaky` fault)."""
    for attempt in range(6):
        async with session.request(method, url, json=body) as response:
            if response.status < 300:
                data: dict[str, Any] = await response.json()
                return data
            if response.status < 500 and response.status not in (403, 429):
                raise CannotRun(f"GitHub answered {response.status} to {method} {url}", "check the lab's log")
            wait = float(response.headers.get("Retry-After", "0") or 0) or 0.5 * (attempt + 1)
        await asyncio.sleep(min(wait, 10.0))
    raise RuntimeError(f"{method} {url} kept failing")


async def _stop(lab: asyncio.subprocess.Process) -> None:
    """SIGTERM lets the lab stop every process it started; SIGKILL only if it does not within 30 s."""
    if lab.returncode is None:
        lab.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(lab.wait(), 30)
        except TimeoutError:
            lab.kill()
            await lab.wait()
