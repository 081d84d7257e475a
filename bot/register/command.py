"""The `verify-staging register` command line: its flags, and the run they describe."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.register.credentials import Outputs
from bot.register.flow import EXIT_NOT_CREATED, RegisterOptions, run_register
from bot.register.manifest import RegisterError, Target, absolute_url

#: GitHub asks the user to confirm the new App; ten minutes is ample, and the code GitHub sends back lives an hour.
DEFAULT_TIMEOUT = 600.0
CHECKOUT_MANIFEST = Path(__file__).resolve().parents[2] / "app.yml"


def default_manifest() -> Path:
    """app.yml in the working directory, else the one of the checkout this command runs from."""
    here = Path("app.yml")
    return here if here.is_file() else CHECKOUT_MANIFEST


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "register", help="create the GitHub App from app.yml in one click (GitHub's App-manifest flow)"
    )
    parser.add_argument("--webhook-url", required=True, help="where GitHub delivers webhooks: `serve`'s /webhooks")
    parser.add_argument("--org", help="the organization that owns the App (default: your own account)")
    parser.add_argument("--github-url", default="https://github.com", help="GitHub's web address (default github.com)")
    parser.add_argument(
        "--api-url",
        help="GitHub's REST API (default: https://api.github.com for github.com, {github-url}/api/v3 otherwise)",
    )
    parser.add_argument("--name", help="the App's name, unique on GitHub (default: app.yml's name)")
    parser.add_argument("--manifest", type=Path, help="the App manifest (default: ./app.yml, else the checkout's)")
    parser.add_argument("--out-dir", type=Path, default=Path("."), help="where github-app.pem and github-app.env go")
    parser.add_argument("--port", type=int, default=0, help="the local page's port on 127.0.0.1 (default: any free)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds to wait for GitHub (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--force", action="store_true", help="replace github-app.pem and github-app.env if present")


def run(args: argparse.Namespace) -> int:
    try:
        if args.timeout <= 0:
            raise RegisterError(f"--timeout must be a positive number of seconds, got {args.timeout:g}.")
        options = RegisterOptions(
            target=Target.parse(github_url=args.github_url, api_url=args.api_url, org=args.org),
            webhook_url=absolute_url(args.webhook_url, flag="--webhook-url"),
            manifest_path=args.manifest or default_manifest(),
            outputs=Outputs.in_directory(args.out_dir),
            timeout=float(args.timeout),
            port=int(args.port),
            name=args.name,
            force=bool(args.force),
        )
    except RegisterError as failure:
        print(f"verify-staging: {failure}", file=sys.stderr)
        return EXIT_NOT_CREATED
    return run_register(options)
