"""What every webhook handler is given: settings, GitHub, the engine, the store, the metrics and its delivery.

Routers dispatch `await router.dispatch(event, ctx)`, so a handler is `async def h(event, ctx: HandlerContext)`.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.envelope import Envelope
from bot.metrics import Metrics
from bot.ports import Clock, Engine, GitHubApp, JiraPort
from bot.settings import Settings
from bot.store import Store
from handlers.cooldown import CommandCooldown


def new_verification_id() -> str:
    """`vs-` and 96 random bits: the id is the key to the verification's details page, so it must be unguessable."""
    return f"vs-{secrets.token_hex(12)}"


@dataclass(frozen=True)
class HandlerContext:
    settings: Settings
    github: GitHubApp
    engine: Engine
    store: Store
    metrics: Metrics
    new_id: Callable[[], str] = field(default=new_verification_id)
    jira: JiraPort | None = None
    #: Issue 12 §7: None means no cooldown (tests that build a context by hand).
    cooldown: CommandCooldown | None = None
    #: The delivery being handled: its shared fields, read once at ingress. The runtime hands every handler a
    #: context for its delivery (`for_delivery`); None only in a context built by hand.
    delivery: Envelope | None = None
    #: Issue 14 §4: repository -> the doctor's summary for a `--dry-run` reply (bounded in time); None: no summary.
    doctor: Callable[[str], Awaitable[str]] | None = None
    #: What "now" is for a command's age (`authorization.command_max_age`); None: ages are not checked.
    clock: Clock | None = None

    @property
    def envelope(self) -> Envelope:
        """The delivery being handled; every handler the runtime calls has one."""
        if self.delivery is None:
            raise RuntimeError("a handler was called without its delivery: give it ctx.for_delivery(envelope)")
        return self.delivery

    def for_delivery(self, envelope: Envelope) -> HandlerContext:
        """This context, for the delivery `envelope` came with."""
        return dataclasses.replace(self, delivery=envelope)
