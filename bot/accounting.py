"""Counts the GitHub requests made on behalf of one verification, wherever they are made from.

A verification's requests come from the command handler (reaction, permission, pull request), the engine
(dispatches, reconciliation, runners) and the reporters (check runs, the PR comment). They share one asyncio
context: the handler opens a tally, the engine's task inherits it (tasks copy the context they are created in),
and the reporters are called from that task. Background work started elsewhere (the runner poller) is not counted.
"""

from __future__ import annotations

from contextvars import ContextVar


class CallTally:
    """A running count of GitHub requests (retries included: each one is a request GitHub saw)."""

    def __init__(self) -> None:
        self.count = 0


_current: ContextVar[CallTally | None] = ContextVar("github_call_tally", default=None)


def open_tally() -> CallTally:
    """Count every GitHub request made from now on in this context and in the tasks it creates."""
    tally = CallTally()
    _current.set(tally)
    return tally


def current_tally() -> CallTally | None:
    return _current.get()


def count_request() -> None:
    tally = _current.get()
    if tally is not None:
        tally.count += 1
