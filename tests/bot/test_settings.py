"""Settings: the example loads; each mistake is one sentence naming the key; `serve` exits 2 with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.settings import RunnerRole, SettingsError, load_settings
from bot.texts import safety as texts
from tests.paths import REPO_ROOT
from tests.support import postgres
from tests.support.settings import EXAMPLE_SETTINGS, write_example_settings


def test_example_settings_are_complete_and_valid(secret_env: dict[str, str]) -> None:
    settings = load_settings(str(EXAMPLE_SETTINGS), secret_env)
    staging = settings.environments["staging"]
    assert settings.environment_for("PAWS360/paws360") is staging
    assert staging.runner(RunnerRole.SECONDARY).name == "production-runner-02"
    assert staging.thresholds.deployment == 600 and staging.thresholds.failover == 30
    assert settings.authorization.minimum_permission == "admin"
    assert settings.secrets.api_url == "https://api.github.com"
    assert secret_env["GITHUB_WEBHOOK_SECRET"] not in repr(settings)
    assert settings.server.retention_days == 30 and settings.server.body_timeout == 10
    assert settings.server.public_url is None  # commented out in the example: no details pages
    assert settings.authorization.command_cooldown == 10


def test_the_frontend_version_url_is_read_and_may_be_left_out(tmp_path: Path, secret_env: dict[str, str]) -> None:
    assert (
        load_settings(str(EXAMPLE_SETTINGS), secret_env).environments["staging"].frontend.version_url
        == "http://staging-frontend/version"
    )
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    del raw["environments"]["staging"]["frontend"]["version_url"]
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    assert load_settings(str(path), secret_env).environments["staging"].frontend.version_url is None


def test_server_limits_and_cooldown_have_defaults_when_left_out(tmp_path: Path, secret_env: dict[str, str]) -> None:
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    del raw["server"], raw["authorization"]["command_cooldown"]
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    settings = load_settings(str(path), secret_env)
    assert (settings.server.retention_days, settings.server.event_queue, settings.server.command_queue) == (
        30,
        1000,
        100,
    )
    assert settings.authorization.command_cooldown == 10


def test_settings_path_comes_from_the_environment(tmp_path: Path, secret_env: dict[str, str]) -> None:
    path = write_example_settings(tmp_path, database="relative.db")
    settings = load_settings(None, {**secret_env, "VERIFY_STAGING_SETTINGS": str(path)})
    assert settings.database == str(tmp_path / "relative.db")


def broken(raw: dict[str, object], dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    node = raw
    for key in parents:
        node = node[key]  # type: ignore[assignment]
    node[last] = value


@pytest.mark.parametrize(
    ("dotted", "value", "message"),
    [
        (
            "environments.staging.thresholds.failover",
            "fast",
            "environments.staging.thresholds.failover must be a positive number of seconds, got 'fast'.",
        ),
        (
            "environments.staging.thresholds.fastest",
            1,
            "environments.staging.thresholds.fastest is not a known setting; expected one of: deployment, failover,",
        ),
        (
            "authorization.minimum_permission",
            "god",
            "authorization.minimum_permission must be one of admin, maintain, write, triage, read, got 'god'.",
        ),
        (
            "environments.staging.backend.host",
            "nowhere",
            "environments.staging.backend.host must be one of production-runner-01, production-runner-02,",
        ),
        ("environments.staging.frontend.url", "staging", "environments.staging.frontend.url must be an http(s) URL"),
        (
            "environments.staging.frontend.version_url",
            "/version",
            "environments.staging.frontend.version_url must be an http(s) URL, got '/version'.",
        ),
        ("jira.issue", "infra 473", "jira.issue must be a JIRA issue key such as INFRA-473, or null, got 'infra 473'."),
        ("databse", "x.db", "databse is not a known setting"),
        ("server.command_queue", 0, "server.command_queue must be a positive whole number, got 0."),
        ("server.retention_days", "30d", "server.retention_days must be a positive whole number, got '30d'."),
        ("authorization.command_cooldown", -1, "authorization.command_cooldown must be a positive number of seconds"),
        (
            "server.public_url",
            "verify.example.com",
            "server.public_url must be an http(s) URL, got 'verify.example.com'.",
        ),
        ("jira.projects", ["INFRA", "sec"], "jira.projects must list JIRA project keys such as INFRA, got 'sec'."),
        (
            "environments.staging.regressions.ratio",
            "50%",
            "environments.staging.regressions.ratio must be a positive fraction such as 0.5, got '50%'.",
        ),
        (
            "environments.staging.regressions.min_runs",
            11,
            "environments.staging.regressions.min_runs must not exceed environments.staging.regressions.runs (10).",
        ),
        ("server.history_public", "yes", "server.history_public is 'yes'; expected true or false."),
    ],
)
def test_each_mistake_is_one_sentence_naming_the_key(
    tmp_path: Path, secret_env: dict[str, str], dotted: str, value: object, message: str
) -> None:
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    broken(raw, dotted, value)
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SettingsError) as caught:
        load_settings(str(path), secret_env)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET", "SSH_KEY_PATH", "SSH_KNOWN_HOSTS"])
def test_missing_secret_is_named(secret_env: dict[str, str], name: str) -> None:
    env = {k: v for k, v in secret_env.items() if k != name}
    with pytest.raises(SettingsError, match=f"^The environment variable {name} is not set; expected"):
        load_settings(str(EXAMPLE_SETTINGS), env)


def test_private_key_may_come_from_a_file(tmp_path: Path, secret_env: dict[str, str]) -> None:
    key_file = tmp_path / "app.pem"
    key_file.write_text(secret_env["GITHUB_PRIVATE_KEY"])
    env = {k: v for k, v in secret_env.items() if k != "GITHUB_PRIVATE_KEY"}
    with pytest.raises(SettingsError, match=r"GITHUB_PRIVATE_KEY \(or GITHUB_PRIVATE_KEY_PATH\) is not set"):
        load_settings(str(EXAMPLE_SETTINGS), env)
    settings = load_settings(str(EXAMPLE_SETTINGS), {**env, "GITHUB_PRIVATE_KEY_PATH": str(key_file)})
    assert settings.secrets.private_key == secret_env["GITHUB_PRIVATE_KEY"]


def serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_exits_2_naming_a_missing_secret(secret_env: dict[str, str]) -> None:
    env = {k: v for k, v in secret_env.items() if k != "GITHUB_WEBHOOK_SECRET"}
    result = serve(env, "--settings", str(EXAMPLE_SETTINGS))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "verify-staging: The environment variable GITHUB_WEBHOOK_SECRET is not set; expected the App's webhook secret."
    ]


def test_serve_exits_2_naming_an_invalid_setting(tmp_path: Path, secret_env: dict[str, str]) -> None:
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    raw["environments"]["staging"]["thresholds"]["failover"] = "fast"
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(raw))
    result = serve({**secret_env, "VERIFY_STAGING_SETTINGS": str(path)})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "verify-staging: environments.staging.thresholds.failover must be a positive number of seconds, got 'fast'."
    )


@pytest.mark.parametrize(
    ("service", "problem"),
    [
        ("*", texts.UNIT_PROTECTED),
        ("sshd.service", texts.UNIT_PROTECTED),
        ("s*", texts.UNIT_PROTECTED),
        ("-x", texts.UNIT_LOOKS_LIKE_OPTION),
        ("--now", texts.UNIT_LOOKS_LIKE_OPTION),
        ("runner; reboot", texts.UNIT_BAD_CHARACTERS),
    ],
)
def test_a_unit_that_could_stop_sshd_or_reach_systemctl_as_an_option_stops_start_up(
    tmp_path: Path, secret_env: dict[str, str], service: str, problem: str
) -> None:
    """issue 12: `service: "*"` would stop sshd itself, and `-x` would reach systemctl as an option."""
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    broken(raw, "environments.staging.runners", [dict(raw["environments"]["staging"]["runners"][0], service=service),
                                                 raw["environments"]["staging"]["runners"][1]])  # fmt: skip
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SettingsError) as caught:
        load_settings(str(path), secret_env)
    path_name = "environments.staging.runners[0].service"
    assert str(caught.value) == texts.UNIT_SETTING_INVALID.format(path=path_name, problem=problem, value=service)
    assert "\n" not in str(caught.value)


def test_the_backend_unit_is_checked_too_and_ssh_safety_settings_have_defaults(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    settings = load_settings(str(EXAMPLE_SETTINGS), secret_env)
    assert (settings.ssh.max_units_per_pattern, settings.ssh.undo_retry_interval) == (5, 30)
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    broken(raw, "environments.staging.backend.service", "ssh")
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SettingsError, match=r"^environments\.staging\.backend\.service must not match ssh\*"):
        load_settings(str(path), secret_env)


def test_database_url_selects_postgresql_and_is_never_shown(secret_env: dict[str, str]) -> None:
    # issue 16 §1: without DATABASE_URL the SQLite file `database` stays the store; with it, PostgreSQL.
    sqlite = load_settings(str(EXAMPLE_SETTINGS), secret_env)
    assert sqlite.store_location == sqlite.database and sqlite.secrets.database_url is None
    url = "postgresql://bot:s3cret-pw@db.internal:5432/verify_staging"
    postgres = load_settings(str(EXAMPLE_SETTINGS), {**secret_env, "DATABASE_URL": url})
    assert postgres.store_location == url
    assert "s3cret-pw" not in repr(postgres)


def test_a_database_url_that_is_not_postgresql_stops_start_up_without_echoing_it(secret_env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(str(EXAMPLE_SETTINGS), {**secret_env, "DATABASE_URL": "mysql://bot:s3cret-pw@db/vs"})
    assert str(caught.value) == (
        "The environment variable DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host/db)."
    )


def test_serve_exits_2_naming_an_unavailable_postgresql_without_its_password(secret_env: dict[str, str]) -> None:
    cluster = postgres.cluster_url().rsplit("/", 1)[0].replace("postgres@", "postgres:pw-s3cret@")
    result = serve({**secret_env, "DATABASE_URL": f"{cluster}/no_such_database"}, "--settings", str(EXAMPLE_SETTINGS))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("verify-staging: could not start (the PostgreSQL database of DATABASE_URL (127.0.0.1:")
    assert 'database "no_such_database" does not exist' in line
    assert "pw-s3cret" not in result.stderr and "pw-s3cret" not in result.stdout


# ---- issue 16: database.lease_seconds -------------------------------------------------------------------------------
def with_database(directory: Path, database: dict[str, object]) -> Path:
    path = write_example_settings(directory)
    raw = yaml.safe_load(path.read_text())
    raw["database"] = database
    path.write_text(yaml.safe_dump(raw))
    return path


def test_database_may_be_a_mapping_with_its_path_and_the_lease_length(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    plain = load_settings(str(write_example_settings(tmp_path / "plain")), secret_env)
    assert plain.database_lease_seconds == 30.0
    path = with_database(tmp_path, {"path": "state/bot.db", "lease_seconds": 12})
    settings = load_settings(str(path), secret_env)
    assert settings.database == str(tmp_path.resolve() / "state" / "bot.db")
    assert settings.database_lease_seconds == 12.0


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ({"path": "bot.db", "lease_seconds": 0}, "database.lease_seconds must be a positive number of seconds, got 0."),
        (
            {"path": "bot.db", "lease_seconds": 2},
            "database.lease_seconds must be at least 3 seconds (heartbeat: a third), got 2.",
        ),
        ({"lease_seconds": 30}, "database.path is missing; expected the path of the SQLite database file."),
        (
            {"path": "bot.db", "leases": 30},
            "database.leases is not a known setting; expected one of: path, lease_seconds.",
        ),
    ],
)
def test_a_bad_database_mapping_is_one_sentence_naming_the_key(
    tmp_path: Path, secret_env: dict[str, str], database: dict[str, object], message: str
) -> None:
    path = with_database(tmp_path, database)
    with pytest.raises(SettingsError) as refused:
        load_settings(str(path), secret_env)
    assert str(refused.value) == message
