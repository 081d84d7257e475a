"""The local page of `verify-staging register` on 127.0.0.1: its button posts the manifest to GitHub, and GitHub's
redirect back (`?code=...&state=...`) is turned into the App's key file and env file.

The page and its callback are bounded by `timeout`: nothing back from GitHub in time ends the command with a
sentence and exit status 2. The secret and the key are written to files only, never printed or logged.
"""

from __future__ import annotations

import asyncio
import html
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web

from bot.register.credentials import CreatedApp, Outputs, convert
from bot.register.manifest import Manifest, RegisterError, Target, load_manifest, manifest_json
from bot.texts import register as texts

CALLBACK_PATH = "/callback"
EXIT_CREATED = 0
EXIT_NOT_CREATED = 2


@dataclass(frozen=True)
class RegisterOptions:
    target: Target
    webhook_url: str
    manifest_path: Path
    outputs: Outputs
    timeout: float
    port: int = 0
    name: str | None = None
    force: bool = False


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def page(status: int, title: str, body: str) -> web.Response:
    # The page posts a form to GitHub and runs no script; nothing else may load or frame it.
    headers = {"Content-Security-Policy": "default-src 'none'; form-action *; frame-ancestors 'none'"}
    return web.Response(status=status, text=_document(title, body), content_type="text/html", headers=headers)


class Registration:
    """One run of the flow: a fresh `state`, the manifest, and the outcome the command waits for."""

    def __init__(self, options: RegisterOptions, session: aiohttp.ClientSession) -> None:
        self.options = options
        self.session = session
        self.state = secrets.token_urlsafe(24)
        self.outcome: asyncio.Future[CreatedApp] = asyncio.get_running_loop().create_future()
        self.manifest: Manifest | None = None

    def prepare(self, base_url: str) -> None:
        """Builds the manifest once the local page's address (hence the redirect URL) is known."""
        self.manifest = load_manifest(
            self.options.manifest_path,
            webhook_url=self.options.webhook_url,
            redirect_url=f"{base_url}{CALLBACK_PATH}",
            name=self.options.name,
        )

    async def index(self, request: web.Request) -> web.Response:
        if self.manifest is None:
            raise web.HTTPServiceUnavailable(text="starting")
        target = self.options.target
        intro = texts.PAGE_INTRO.format(
            name=self.manifest["name"], target=target.describe(), webhook_url=self.options.webhook_url
        )
        form = (
            f"<p>{html.escape(intro)}</p>"
            f'<form action="{html.escape(target.new_app_url(state=self.state))}" method="post">'
            f'<input type="hidden" name="manifest" value="{html.escape(manifest_json(self.manifest))}">'
            f'<button type="submit" id="create">{html.escape(texts.PAGE_BUTTON)}</button></form>'
        )
        return page(200, texts.PAGE_TITLE, form)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        state = request.query.get("state", "")
        if self.outcome.done() or not secrets.compare_digest(state.encode(), self.state.encode()):
            # CSRF: only the redirect of the registration this page started carries its state.
            return page(400, texts.FAILURE_TITLE, f"<p>{html.escape(texts.STATE_MISMATCH)}</p>")
        code = request.query.get("code", "")
        if not code:
            return page(400, texts.FAILURE_TITLE, f"<p>{html.escape(texts.CODE_MISSING)}</p>")
        try:
            app = await convert(self.session, self.options.target, code=code)
            self.options.outputs.write(app, self.options.target, force=self.options.force)
        except RegisterError as failure:
            failed = failure
            answer = page(502, texts.FAILURE_TITLE, f"<p>{html.escape(str(failed))}</p>")
            await self._answer_then(request, answer, lambda: self.outcome.set_exception(failed))
            return answer
        label = html.escape(texts.SUCCESS_LINK.format(slug=app.slug))
        link = f'<p><a id="install" href="{html.escape(app.install_url)}">{label}</a></p>'
        answer = page(
            200,
            texts.SUCCESS_TITLE.format(slug=app.slug),
            f"<p>{html.escape(texts.SUCCESS_BODY.format(slug=app.slug))}</p>{link}",
        )
        await self._answer_then(request, answer, lambda: self.outcome.set_result(app))
        return answer

    @staticmethod
    async def _answer_then(request: web.Request, answer: web.Response, finish: Callable[[], None]) -> None:
        """Sends the page before the command ends, so the browser shows it."""
        await answer.prepare(request)
        await answer.write_eof()
        finish()


async def register(options: RegisterOptions, *, out: TextIO | None = None) -> CreatedApp:
    """Serves the local page until GitHub sends the user back; returns the App whose files were written."""
    out = out or sys.stdout
    options.outputs.refuse_existing(force=options.force)
    async with aiohttp.ClientSession() as session:
        flow = Registration(options, session)
        app = web.Application()
        app.router.add_get("/", flow.index)
        app.router.add_get(CALLBACK_PATH, flow.callback)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", options.port)
            await site.start()
            host, port = runner.addresses[0][:2]
            base_url = f"http://{host}:{port}"
            flow.prepare(base_url)
            print(texts.OPEN_PAGE.format(url=f"{base_url}/", github=options.target.github_url), file=out, flush=True)
            print(texts.WAITING.format(timeout=options.timeout), file=out, flush=True)
            try:
                return await asyncio.wait_for(asyncio.shield(flow.outcome), options.timeout)
            except TimeoutError:
                raise RegisterError(texts.TIMED_OUT.format(timeout=options.timeout)) from None
        finally:
            await runner.cleanup()


def run_register(options: RegisterOptions, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """The command: 0 and the next step once the App exists and its files are written; 2 and one sentence if not."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        app = asyncio.run(register(options, out=out))
    except RegisterError as failure:
        print(f"verify-staging: {failure}", file=err)
        return EXIT_NOT_CREATED
    except OSError as failure:
        print(f"verify-staging: could not serve the local page ({failure}); check --port.", file=err)
        return EXIT_NOT_CREATED
    outputs = options.outputs
    print(
        texts.CREATED.format(slug=app.slug, app_id=app.app_id, key_path=outputs.key_path, env_path=outputs.env_path),
        file=out,
    )
    print(texts.NEXT_STEP.format(install_url=app.install_url), file=out)
    print(texts.SERVE_WITH.format(env_path=outputs.env_path), file=out)
    return EXIT_CREATED
