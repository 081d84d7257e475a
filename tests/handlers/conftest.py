"""The front-door fixtures of tests/bot (a running bot with a local GitHub API stand-in), shared, not copied."""

from tests.bot.conftest import bot, github_api, private_key_pem, secret_env, settings

__all__ = ["bot", "github_api", "private_key_pem", "secret_env", "settings"]
