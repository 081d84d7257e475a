"""`python -m bot` and the `verify-staging` console script: the command line of `bot/runtime/cli.py`."""

from __future__ import annotations

import contextlib
import sys

from bot.runtime.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
