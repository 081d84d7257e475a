"""The command parser and the CLI's argument handling (pure functions, no I/O)."""

from __future__ import annotations

import sys

import pytest

from bot.__main__ import build_parser, lab_argv
from bot.model import SCENARIO_ORDER, ScenarioId
from handlers.command import Command, CommandKind, parse_command


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


def test_lab_passes_its_flags_through_to_python_m_lab() -> None:
    args = build_parser().parse_args(
        [
            "lab",
            "--fault",
            "no-secondary",
            "--fault",
            "redis-down",
            "--state-file",
            "s.json",
            "--webhook-url",
            "http://x",
        ]
    )
    assert lab_argv(args) == [
        sys.executable,
        "-m",
        "lab",
        "--fault",
        "no-secondary",
        "--fault",
        "redis-down",
        "--state-file",
        "s.json",
        "--webhook-url",
        "http://x",
    ]


def test_demo_arguments() -> None:
    args = build_parser().parse_args(["demo", "--scenarios", "failover,rollback", "--fault", "no-rollback"])
    assert args.scenarios == [ScenarioId.FAILOVER, ScenarioId.ROLLBACK]
    assert args.fault == ["no-rollback"] and args.report_dir == "./verify-staging-report"
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["demo", "--scenarios", "warp-speed"])
    assert exited.value.code == 2
