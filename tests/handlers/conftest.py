"""The front-door fixtures of tests/bot (a running bot with a local GitHub API stand-in), shared, not copied, and the
handlers' world `w` (handler_support)."""

from tests.bot.conftest import bot, github_api, private_key_pem, secret_env, settings
from tests.handlers.handler_support import w

__all__ = ["bot", "github_api", "private_key_pem", "secret_env", "settings", "w"]
