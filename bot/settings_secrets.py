"""The secrets verify-staging takes from the environment (never from the settings file): the App's id, key and
webhook secret, SSH key and known hosts, JIRA credentials, monitoring tokens, DATABASE_URL."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.database.base import is_postgres_url
from bot.settings_model import Secrets
from bot.yaml_fields import Node, SettingsError


def secrets_from_environment(env: Mapping[str, str]) -> Secrets:
    """The secrets in `env` (the process environment, passed in by bot/settings.py); SettingsError names a missing
    or malformed one, never its value."""

    def required(name: str, what: str) -> str:
        value = env.get(name, "").strip()
        if not value:
            raise SettingsError(f"The environment variable {name} is not set; expected {what}.")
        return value

    def readable_file(name: str, what: str) -> str:
        path = required(name, what)
        if not Path(path).is_file():
            raise SettingsError(
                f"The environment variable {name} names {path}, which is not a readable file; expected {what}."
            )
        return path

    app_id = required("GITHUB_APP_ID", "the GitHub App's id or client id")
    if env.get("GITHUB_PRIVATE_KEY", "").strip():
        private_key = env["GITHUB_PRIVATE_KEY"]
    elif env.get("GITHUB_PRIVATE_KEY_PATH", "").strip():
        key_path = readable_file("GITHUB_PRIVATE_KEY_PATH", "the App's private key (PEM)")
        private_key = Path(key_path).read_text(encoding="utf-8")
    else:
        raise SettingsError(
            "The environment variable GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) is not set; "
            "expected the App's private key (PEM)."
        )
    if "PRIVATE KEY-----" not in private_key:
        raise SettingsError("GITHUB_PRIVATE_KEY must be a PEM private key (-----BEGIN ... PRIVATE KEY-----).")
    api_url = env.get("GITHUB_API_URL", "").strip() or "https://api.github.com"
    Node("", {"GITHUB_API_URL": api_url}).url("GITHUB_API_URL")
    jira_url = env.get("JIRA_URL", "").strip() or None
    jira_token = env.get("JIRA_TOKEN", "").strip() or None
    jira_user = env.get("JIRA_USER", "").strip() or None
    jira_password = env.get("JIRA_PASSWORD") or None
    if jira_url is not None:
        Node("", {"JIRA_URL": jira_url}).url("JIRA_URL")
        if jira_token is None and not (jira_user and jira_password):
            raise SettingsError(
                "JIRA_URL is set but neither JIRA_TOKEN nor JIRA_USER with JIRA_PASSWORD is; expected JIRA credentials."
            )
    return Secrets(
        app_id=app_id,
        private_key=private_key,
        webhook_secret=required("GITHUB_WEBHOOK_SECRET", "the App's webhook secret"),
        api_url=api_url.rstrip("/"),
        jira_url=jira_url,
        jira_token=jira_token,
        jira_user=jira_user,
        jira_password=jira_password,
        ssh_key_path=readable_file("SSH_KEY_PATH", "the SSH private key the bot logs in with"),
        ssh_known_hosts=readable_file("SSH_KNOWN_HOSTS", "a known_hosts file listing every configured SSH host"),
        **_monitoring_tokens(env),
        history_token=env.get("VERIFY_STAGING_HISTORY_TOKEN", "").strip() or None,
        database_url=_database_url(env),
    )


def _monitoring_tokens(env: Mapping[str, str]) -> dict[str, str | None]:
    """issue 14 §1: optional Bearer tokens for Grafana, Prometheus and Alertmanager (None: ask anonymously)."""
    names = {
        "grafana_token": "GRAFANA_TOKEN",
        "prometheus_token": "PROMETHEUS_TOKEN",
        "alertmanager_token": "ALERTMANAGER_TOKEN",
    }
    return {key: env.get(name, "").strip() or None for key, name in names.items()}


def _database_url(env: Mapping[str, str]) -> str | None:
    """issue 16 §1: DATABASE_URL selects PostgreSQL. The value is never echoed: it may carry a password."""
    url = env.get("DATABASE_URL", "").strip() or None
    if url is not None and not is_postgres_url(url):
        raise SettingsError(
            "The environment variable DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host/db)."
        )
    return url
