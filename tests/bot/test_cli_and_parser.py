"""The command parser and the CLI's argument handling (pure functions, no I/O)."""

from __future__ import annotations

import sys

import pytest

from bot.model import SCENARIO_ORDER, ScenarioId
from bot.runtime.cli import build_parser, lab_argv
from handlers.command import Command, CommandKind, parse_command
from handlers.signoff import Decision, SignoffCommand, parse_signoff


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/verify-staging", Command(CommandKind.RUN, SCENARIO_ORDER)),
        ("/verify-staging all --dry-run", Command(CommandKind.RUN, SCENARIO_ORDER, dry_run=True)),
        (
            "please\n/verify-staging Monitoring failover failover",
            Command(CommandKind.RUN, (ScenarioId.FAILOVER, ScenarioId.MONITORING)),
        ),
        ("/verify-staging status", Command(CommandKind.STATUS)),
        ("/verify-staging abort", Command(CommandKind.ABORT)),
        ("/verify-staging History", Command(CommandKind.HISTORY)),
        ("/verify-staging help", Command(CommandKind.HELP)),
        ("/verify-staging status now", Command(CommandKind.HELP, problem="status")),
        ("/verify-staging $(rm -rf /)", Command(CommandKind.HELP, problem="$(rm")),
        ("> /verify-staging\nquoted only", None),
        ("/verify-stagingx", None),
        ("no command here", None),
    ],
)
def test_parse_command(body: str, expected: Command | None) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "```\n/verify-staging\n```",
        "  ~~~ text\n/verify-staging abort\n  ~~~",
        "````\n```\n/verify-staging\n```\n/verify-staging abort\n````",
        "<!--\n/verify-staging\n-->",
        "<!-- hidden -->\n<!--\nstill hidden\n/verify-staging abort -->",
        "   > /verify-staging",
        ">quoted\n> /verify-staging",
        "    /verify-staging",
        "an unclosed fence\n```\n/verify-staging",
        "> ```\n> /verify-staging\n> ```",
    ],
)
def test_commands_in_code_quotes_and_html_comments_do_not_count(body: str) -> None:
    """Issue 12 §6: an example, a quote of someone else or a hidden comment never runs or aborts anything."""
    assert parse_command(body) is None
    assert parse_signoff(body.replace("/verify-staging", "/sre-signoff approve")) is None


def test_a_real_command_after_a_fence_a_quote_or_a_comment_counts() -> None:
    body = "```\n/verify-staging abort\n```\n> /verify-staging status\n<!-- /verify-staging -->\n"
    body += "/verify-staging failover"
    assert parse_command(body) == Command(CommandKind.RUN, (ScenarioId.FAILOVER,))
    assert parse_command("``` not a fence ``` \n/verify-staging status") == Command(CommandKind.STATUS)
    signoff = parse_signoff("<!-- /sre-signoff approve -->\n> /sre-signoff approve\n/sre-signoff reject broken\nlogs")
    assert signoff == SignoffCommand(Decision.REJECT, "broken\nlogs")


def test_revise_needs_a_reason() -> None:
    assert parse_signoff("/sre-signoff revise add the runbook") == SignoffCommand(Decision.REVISE, "add the runbook")
    assert parse_signoff("/sre-signoff revise") == SignoffCommand(Decision.MALFORMED, "")


def test_lab_passes_its_flags_through_to_python_m_lab() -> None:
    flags = ["--fault", "no-secondary", "--fault", "redis-down", "--state-file", "s.json", "--webhook-url", "http://x"]
    args = build_parser().parse_args(["lab", *flags])
    assert lab_argv(args) == [sys.executable, "-m", "lab", *flags]


def test_demo_arguments() -> None:
    args = build_parser().parse_args(["demo", "--scenarios", "failover,rollback", "--fault", "no-rollback"])
    assert args.scenarios == [ScenarioId.FAILOVER, ScenarioId.ROLLBACK]
    assert args.fault == ["no-rollback"] and args.report_dir == "./verify-staging-report"
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["demo", "--scenarios", "warp-speed"])
    assert exited.value.code == 2
