"""A full healthy run leaks no secret anywhere a person or a log reader looks; people without the permission can
neither run, abort nor sign off; nothing from a comment reaches a shell; hosts and commands come from settings only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import World, running_world
from tests.support.wait import wait_for

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(Path(tmp_path_factory.mktemp("security"))) as running:
        verdict = running.verify("/verify-staging")
        assert verdict.overall["conclusion"] == "success", verdict.overall["output"]
        yield running


def secrets_of(world: World) -> dict[str, str]:
    state = world.state
    found = {"webhook secret": str(state["webhook_secret"]), "JIRA token": str(state["jira_token"])}
    for name, key in (("App private key", "app_private_key_path"), ("SSH private key", "ssh_key_path")):
        lines = Path(str(state[key])).read_text().splitlines()
        body = [line.strip() for line in lines if line.strip() and "-----" not in line]
        found |= {f"{name} line {n}": line for n, line in enumerate(body) if len(line) >= 16}
    tokens = requests.get(str(state["github_api_url"]).rstrip("/") + "/_lab/installation-tokens", timeout=10).json()
    assert tokens, "the simulated GitHub issued no installation token, so the scan below would prove nothing"
    found |= {f"installation token {n}": t["token"] for n, t in enumerate(tokens)}
    return found


def test_no_secret_in_logs_comments_check_runs_jira_or_report(world: World) -> None:
    stored = world.latest_verification()
    assert stored is not None
    places = {
        "bot log": world.bot_log.read_text(errors="replace"),
        "PR comments": json.dumps([c["body"] for c in world.issue_comments()]),
        "check runs": json.dumps([r["output"] for r in world.check_runs()]),
        "JIRA comments": json.dumps(world.jira_comments()),
        "report": json.dumps(stored.to_report()),
        "database": world.database().read_bytes().decode("latin-1"),
    }
    assert all(places.values())
    leaks = [
        f"{what} in {where}"
        for what, value in secrets_of(world).items()
        for where, text in places.items()
        if value in text
    ]
    assert leaks == []


def refusals_after(world: World, since: int, count: int) -> list[str]:
    return wait_for(
        lambda: (
            bodies if len(bodies := [str(c["body"]) for c in world.bot_comments(since_id=since)]) >= count else None
        ),
        timeout=30,
        what=f"{count} answers from the bot",
    )


def test_unauthorized_users_can_neither_run_abort_nor_sign_off(world: World) -> None:
    intruder = str(world.state["unauthorized_user"])
    runs_before = sum(e["event"] == "run_created" for e in world.truth())
    jira_before = world.jira_status()
    since = max(int(c["id"]) for c in world.issue_comments())
    for text in ("/verify-staging", "/verify-staging abort", "/sre-signoff approve looks fine"):
        world.comment(text, user=intruder)
    answers = refusals_after(world, since, 3)
    assert all(f"@{intruder}" in a for a in answers), answers
    assert sum(e["event"] == "run_created" for e in world.truth()) == runs_before
    assert world.jira_status() == jira_before


def test_shell_metacharacters_and_host_names_in_a_comment_never_reach_ssh(world: World) -> None:
    hostile = "/verify-staging normal-deploy; rm -rf / $(id) `hostname` | evil.example.com && cat ~/.ssh/id_rsa > x"
    since = max(int(c["id"]) for c in world.issue_comments())
    start = len(world.truth())
    world.comment(hostile)
    refusals_after(world, since, 1)
    commands = [e for e in world.truth() if e["event"] == "ssh_command"]
    assert commands, "the healthy run sent no SSH command, so this proves nothing"
    hosts = set(world.state["ssh_hosts"])
    for entry in commands:
        assert entry["host"] in hosts
        assert not re.search(r"[;`$|&<>]|rm -rf|evil\.example|id_rsa", entry["command"]), entry
        assert re.fullmatch(r"[\w@.:/ *-]+", entry["command"]), entry
    # A comment that is not a well-formed command is answered and starts nothing.
    assert all(e["event"] != "run_created" for e in world.truth()[start:])


def test_repository_files_cannot_change_hosts_or_commands() -> None:
    # The client can read a repository file (GitHubAppClient.get_file), but nothing in the bot calls it: hosts,
    # units and commands come from the operator's settings file alone.
    callers = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "handlers", "scenarios")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"\.get_file\(|/contents/", path.read_text()) and path != ROOT / "bot" / "github" / "client.py"
    ]
    assert callers == []
