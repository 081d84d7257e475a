"""The composition root: the `verify-staging` commands, the wiring that starts the bot, and the demo.

The one part of `bot/` that knows the features (`handlers`) and the scenarios: it builds the concrete adapters and
hands them, with the engine, to the handlers. Nothing else in `bot/` imports it, except `bot/__main__.py`.
"""
