"""Settings for tests, from one place: the operator's example file read by the real loader, or a `Settings` made
in memory for a test of one part.

- `example_settings(directory)`: deploy/settings.example.yml with its database in `directory`, loaded by
  `load_settings` with the secrets of `secret_env` (the process's App key from `keys.rsa_key()`, never a new one).
- `write_example_settings(directory)` and `secret_env(directory)`: the same file and environment for a process
  (`verify-staging serve`) or a test of the loader to read.
- `unit_settings(...)`: settings in memory with the parts a reporter or engine test cares about; the secrets are
  placeholders nothing signs with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.settings import (
    AuthorizationSettings,
    EnvironmentSettings,
    GitHubSettings,
    JiraSettings,
    RepositorySettings,
    Secrets,
    Settings,
    SSHHost,
    SSHSettings,
    load_settings,
)
from tests.paths import REPO_ROOT
from tests.support.keys import rsa_key

EXAMPLE_SETTINGS = REPO_ROOT / "deploy" / "settings.example.yml"
APP_ID = "4242"
#: The repository the example settings (and most tests) verify.
REPOSITORY = "paws360/paws360"
#: A secret's value where the secret is never used.
PLACEHOLDER = "unused"


def secret_env(directory: Path, *, webhook_secret: str = PLACEHOLDER, key_in_file: bool = False) -> dict[str, str]:
    """The environment `serve` reads its secrets from: the App id and key (inline, or as a 0600 file in `directory`
    with `key_in_file`), the webhook secret, and an SSH key and known_hosts in `directory` (placeholders: no test
    that uses them makes an SSH connection)."""
    directory.mkdir(parents=True, exist_ok=True)
    ssh_key, known_hosts = directory / "id_ed25519", directory / "known_hosts"
    ssh_key.write_text("not used by these tests\n")
    known_hosts.write_text("")
    env = {
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_WEBHOOK_SECRET": webhook_secret,
        "SSH_KEY_PATH": str(ssh_key),
        "SSH_KNOWN_HOSTS": str(known_hosts),
    }
    if key_in_file:
        pem = directory / "app.pem"
        pem.write_text(rsa_key().private_pem)
        pem.chmod(0o600)
        env["GITHUB_PRIVATE_KEY_PATH"] = str(pem)
    else:
        env["GITHUB_PRIVATE_KEY"] = rsa_key().private_pem
    return env


def write_example_settings(
    directory: Path, *, database: Path | str | None = None, extra_repositories: Sequence[str] = (), **overrides: Any
) -> Path:
    """The example settings as `directory`/settings.yml, its database at `database` (default `directory`/bot.db),
    plus `extra_repositories` (verifying staging) and top-level `overrides`."""
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))
    raw["database"] = str(database or directory / "bot.db")
    for name in extra_repositories:
        raw["github"]["repositories"][name] = {"environment": "staging"}
    raw.update(overrides)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "settings.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def example_settings(
    directory: Path,
    *,
    database: Path | None = None,
    extra_repositories: Sequence[str] = (),
    webhook_secret: str = PLACEHOLDER,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The example settings as `serve` would load them, with `secret_env` plus `env` as its environment."""
    path = write_example_settings(directory, database=database, extra_repositories=extra_repositories)
    return load_settings(str(path), {**secret_env(directory, webhook_secret=webhook_secret), **(env or {})})


def unit_settings(
    *,
    database: str = ":memory:",
    environments: Mapping[str, EnvironmentSettings] | None = None,
    authorization: AuthorizationSettings | None = None,
    jira: JiraSettings | None = None,
    ssh_hosts: Mapping[str, SSHHost] | None = None,
    reconcile_after: float = GitHubSettings.reconcile_after,
    api_url: str = Secrets.api_url,
) -> Settings:
    """Settings for `REPOSITORY` verifying "staging", built in memory (no file, no loader, no key)."""
    return Settings(
        database=database,
        github=GitHubSettings(
            repositories={REPOSITORY: RepositorySettings(environment="staging")}, reconcile_after=reconcile_after
        ),
        authorization=authorization or AuthorizationSettings(),
        jira=jira or JiraSettings(issue=None),
        ssh=SSHSettings(user="deploy", hosts=dict(ssh_hosts or {})),
        environments=dict(environments or {}),
        secrets=Secrets(app_id=APP_ID, private_key=PLACEHOLDER, webhook_secret=PLACEHOLDER, api_url=api_url),
    )
