"""The `verify-staging` command line: `serve` (the GitHub App), `lab` (the local staging lab), `demo` (both at once).

Exit status 2 means the command could not run (bad arguments, bad settings, a component that could not start),
with one line on stderr saying what and how to mend it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from bot.logging import configure_logging
from bot.model import ScenarioId
from bot.register import command as register_command
from bot.runtime.app import start_runtime
from bot.settings import Settings, SettingsError, load_settings_from_process

EXIT_CANNOT_RUN = 2

#: The lab's stand-in services need Flask, which only the `lab` extra installs (the App's image carries neither).
LAB_NOT_INSTALLED = (
    "the local lab is not part of this installation; install it with `pip install 'verify-staging[lab]'` "
    "(or run from a checkout: `bash scripts/dev.sh demo`)."
)


def lab_installed() -> bool:
    return importlib.util.find_spec("lab") is not None and importlib.util.find_spec("flask") is not None


def scenario_list(text: str) -> list[ScenarioId]:
    ids = {s.value: s for s in ScenarioId}
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [c for c in chosen if c not in ids]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"expected scenario ids from {', '.join(ids)}, got {text!r}")
    return [ids[c] for c in chosen]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verify-staging", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="the GitHub App: webhook server and scenario engine")
    serve.add_argument("--settings", help="settings file (default: $VERIFY_STAGING_SETTINGS)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free port)")
    serve.add_argument(
        "--reuse-port",
        action="store_true",
        help="bind with SO_REUSEPORT, beside a socket that holds the port reserved (a supervisor or a test harness)",
    )

    lab = commands.add_parser("lab", help="start the local staging lab alone, until interrupted")
    lab.add_argument("--topology", help="topology file (default: the built-in one)")
    lab.add_argument("--fault", action="append", default=[], metavar="NAME", help="a lab fault (repeatable)")
    lab.add_argument("--state-file", help="write the lab's addresses and credentials here as JSON once it is up")
    lab.add_argument("--webhook-url", help="where the simulated GitHub delivers webhooks")

    demo = commands.add_parser("demo", help="lab and bot together: one /verify-staging from comment to report")
    demo.add_argument("--scenarios", type=scenario_list, help="comma-separated scenario ids (default: all five)")
    demo.add_argument("--fault", action="append", default=[], metavar="NAME", help="a lab fault (repeatable)")
    demo.add_argument("--topology", help="topology file (default: the built-in one)")
    demo.add_argument("--report-dir", default="./verify-staging-report", help="where the report files go")
    attach = commands.add_parser(
        "jira-attach", help="send a finished verification's report files to its JIRA issue again (after an outage)"
    )
    attach.add_argument("verification_id", help="the verification's id (in the PR comment and the check runs)")
    attach.add_argument("--settings", help="settings file (default: $VERIFY_STAGING_SETTINGS)")
    register_command.add_parser(commands)
    doctor = commands.add_parser("doctor", help="check an installation (GitHub, runners, hosts, monitoring, JIRA)")
    doctor.add_argument("--settings", help="settings file (default: $VERIFY_STAGING_SETTINGS)")
    return parser


def lab_argv(args: argparse.Namespace) -> list[str]:
    """`python -m lab` with the same flags: the lab runs as its own process, never imported by the bot."""
    argv = [sys.executable, "-m", "lab"]
    if args.topology:
        argv += ["--topology", args.topology]
    for fault in args.fault:
        argv += ["--fault", fault]
    if args.state_file:
        argv += ["--state-file", args.state_file]
    if args.webhook_url:
        argv += ["--webhook-url", args.webhook_url]
    return argv


def run_lab(args: argparse.Namespace) -> int:
    # The lab stops when this process ends, however it ends: it reads EOF on the pipe only we hold open.
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen([*lab_argv(args), "--parent-fd", str(read_end)], pass_fds=(read_end,))
    finally:
        os.close(read_end)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The lab stops every process it started on SIGINT/SIGTERM; give it time, then make sure.
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        os.close(write_end)


async def serve(settings: Settings, *, host: str, port: int, reuse_port: bool = False) -> None:
    runtime = await start_runtime(settings, host=host, port=port, reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runtime.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("lab", "demo") and not lab_installed():
        print(f"verify-staging: {LAB_NOT_INSTALLED}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.command == "lab":
        return run_lab(args)
    if args.command == "register":
        return register_command.run(args)
    if args.command == "demo":
        from bot.runtime.demo import run_demo

        result: int = run_demo(args)
        return result
    try:
        settings = load_settings_from_process(args.settings)
    except SettingsError as exc:
        print(f"verify-staging: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    configure_logging()
    if args.command == "jira-attach":
        from bot.runtime.jira_resend import resend_from_settings

        done, message = asyncio.run(resend_from_settings(settings, args.verification_id))
        print(f"verify-staging: {message}", file=sys.stdout if done else sys.stderr)
        return 0 if done else 1
    if args.command == "doctor":
        from bot.runtime.doctor import doctor_command

        status: int = asyncio.run(doctor_command(settings))
        return status
    try:
        asyncio.run(serve(settings, host=args.host, port=args.port, reuse_port=args.reuse_port))
    except OSError as exc:
        print(f"verify-staging: could not start ({exc}); check --host/--port and the database path.", file=sys.stderr)
        return EXIT_CANNOT_RUN
    return 0
