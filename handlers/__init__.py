"""The webhook features, one gidgethub Router each, combined into the one router the web server dispatches to.

A handler is `async def handler(event: gidgethub.sansio.Event, ctx: handlers.context.HandlerContext) -> None`.
"""

from __future__ import annotations

from gidgethub import routing

from handlers import checks, comments, pulls, signoff, workflows


def build_router() -> routing.Router:
    return routing.Router(comments.router, workflows.router, checks.router, signoff.router, pulls.router)


def handled_events(router: routing.Router) -> frozenset[str]:
    """Event names some handler is registered for (other events are acknowledged and ignored)."""
    # gidgethub keeps registrations in two private tables and offers no public way to list them.
    shallow: dict[str, object] = getattr(router, "_shallow_routes", {})
    deep: dict[str, object] = getattr(router, "_deep_routes", {})
    return frozenset(shallow) | frozenset(deep)
