"""The baseline for `benchmarks.ingest`: an aiohttp endpoint that reads the body and answers 202, nothing else.

Run as `python -m benchmarks._bare --port P`; it serves until SIGTERM (bound with SO_REUSEPORT, beside the port
reservation of the benchmark that started it).
"""

from __future__ import annotations

import argparse

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=202)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=5 * 1024 * 1024)
    app.router.add_post("/webhooks", accept)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, reuse_port=True)


if __name__ == "__main__":
    main()
