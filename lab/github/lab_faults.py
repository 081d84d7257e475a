"""The lab's fault switch on the simulated GitHub: `GET /_lab/faults` lists the active faults, `POST /_lab/faults
{"fault": NAME, "on": true|false, "seconds": S}` turns one on or off while the lab runs.

The simulated GitHub only carries the request: the lab world (lab/fault_control.py) registers the handler that
changes the faults, because they span processes the simulated GitHub knows nothing of (services, Prometheus).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple

from aiohttp import web

from lab.github.http import error, read_json

routes = web.RouteTableDef()
PATH = "/_lab/faults"


class ControlRefused(Exception):
    """A fault change the lab refuses: `status` (404 unknown, 409 start-only, 422 bad value) and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FaultRequest(NamedTuple):
    """One `POST /_lab/faults` body, validated."""

    fault: str
    on: bool
    #: slow-failover's delay in lab seconds; None: the topology's `timing.slow_failover_seconds`.
    seconds: float | None = None


@dataclass
class FaultHandlers:
    """What the world registered: `change` applies a request and answers the active faults; `active` lists them."""

    change: Callable[[FaultRequest], Awaitable[list[str]]] | None = None
    active: Callable[[], list[str]] | None = None


FAULT_HANDLERS = web.AppKey("lab_fault_handlers", FaultHandlers)


def _parse(body: dict[str, object]) -> FaultRequest:
    fault, on, seconds = body.get("fault"), body.get("on"), body.get("seconds")
    if not isinstance(fault, str) or not fault:
        raise ControlRefused(422, "fault must be a fault name, e.g. slow-failover")
    if not isinstance(on, bool):
        raise ControlRefused(422, "on must be true or false")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0):
        raise ControlRefused(422, "seconds must be a number of seconds, 0 or more")
    return FaultRequest(fault=fault, on=on, seconds=None if seconds is None else float(seconds))


@routes.get(PATH)
async def active_faults(request: web.Request) -> web.Response:
    handlers = request.app[FAULT_HANDLERS]
    if handlers.active is None:
        return error(404, "this lab has no fault control")
    return web.json_response({"active": handlers.active()})


@routes.post(PATH)
async def change_fault(request: web.Request) -> web.Response:
    handlers = request.app[FAULT_HANDLERS]
    if handlers.change is None:
        return error(404, "this lab has no fault control")
    try:
        active = await handlers.change(_parse(await read_json(request)))
    except ControlRefused as refused:
        return error(refused.status, str(refused))
    return web.json_response({"active": active})
