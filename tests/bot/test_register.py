"""`verify-staging register` against the simulated GitHub, without a browser: the local page's form posts app.yml's
manifest to GitHub's new-App page, the redirect back is checked (state) and converted into a key file and an env
file (0600), and every way it can go wrong ends with one sentence and nothing half-written."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest
import yaml

from bot.register.credentials import CreatedApp, Outputs
from bot.register.flow import RegisterOptions, register, run_register
from bot.register.manifest import GITHUB_COM_API, RegisterError, Target
from bot.runtime.cli import main
from bot.texts import register as texts
from lab.github.server import RunningGitHub
from tests.paths import REPO_ROOT
from tests.support.lab_github import OWNER, lab_github
from tests.support.texts import pattern
from tests.support.wait import wait_until

WEBHOOK = "https://verify-staging.example.test/webhooks"
APP_YML = yaml.safe_load((REPO_ROOT / "app.yml").read_text())
#: The local page is up well within this on a loaded machine; a flow that is not done by then is hung.
STEP_TIMEOUT = 30.0


@pytest.fixture
async def github(tmp_path: Path) -> AsyncIterator[RunningGitHub]:
    async with lab_github(tmp_path) as running:
        yield running


def options_for(
    github: RunningGitHub, out_dir: Path, *, target: Target | None = None, force: bool = False
) -> RegisterOptions:
    return RegisterOptions(
        target=target or Target.parse(github_url=github.url, api_url=github.url, org=None),
        webhook_url=WEBHOOK,
        manifest_path=REPO_ROOT / "app.yml",
        outputs=Outputs.in_directory(out_dir),
        timeout=STEP_TIMEOUT,
        force=force,
    )


class FormReader(HTMLParser):
    """The local page's form: where it posts and its `manifest` field."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = ""
        self.manifest = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action, self.method = found.get("action") or "", found.get("method") or ""
        if tag == "input" and found.get("name") == "manifest":
            self.manifest = found.get("value") or ""


@dataclass
class Running:
    """`register` running in this event loop, its terminal output, and its local page."""

    task: asyncio.Task[CreatedApp]
    out: io.StringIO
    page: str
    http: aiohttp.ClientSession

    async def form(self) -> FormReader:
        async with self.http.get(self.page) as answer:
            assert answer.status == 200
            reader = FormReader()
            reader.feed(await answer.text())
        return reader

    async def press_button(self) -> tuple[int, str]:
        """What the browser does: post the form to GitHub and follow its redirect back to the local page."""
        form = await self.form()
        async with self.http.post(form.action, data={"manifest": form.manifest}) as answer:
            return answer.status, await answer.text()

    async def outcome(self) -> CreatedApp:
        return await asyncio.wait_for(self.task, STEP_TIMEOUT)


Start = Callable[[RegisterOptions], Awaitable[Running]]


@pytest.fixture
async def start(github: RunningGitHub) -> AsyncIterator[Start]:
    started: list[Running] = []
    http = aiohttp.ClientSession()

    async def run(options: RegisterOptions) -> Running:
        out = io.StringIO()
        task = asyncio.create_task(register(options, out=out))
        await wait_until(lambda: "Open http" in out.getvalue() or task.done(), timeout=STEP_TIMEOUT, what="the page")
        if task.done():
            task.result()
        found = re.search(r"Open (http://127\.0\.0\.1:\d+/) ", out.getvalue())
        assert found, out.getvalue()
        running = Running(task, out, found.group(1), http)
        started.append(running)
        return running

    try:
        yield run
    finally:
        for running in started:
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)
        await http.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_button_posts_app_yml_to_githubs_new_app_page_and_the_redirect_writes_the_files(
    github: RunningGitHub, start: Start, tmp_path: Path
) -> None:
    running: Running = await start(options_for(github, tmp_path / "out"))
    form = await running.form()
    assert form.method == "post"
    assert re.fullmatch(re.escape(f"{github.url}/settings/apps/new?state=") + r"[\w-]{20,}", form.action)
    sent = json.loads(form.manifest)
    assert sent["hook_attributes"] == {"url": WEBHOOK, "active": True}
    assert sent["redirect_url"] == running.page + "callback"
    assert sent["default_permissions"] == APP_YML["default_permissions"]
    assert sent["default_events"] == APP_YML["default_events"]
    assert (sent["name"], sent["url"], sent["public"]) == (APP_YML["name"], APP_YML["url"], APP_YML["public"])

    status, page = await running.press_button()
    app = await running.outcome()
    assert status == 200
    assert texts.SUCCESS_BODY.format(slug=app.slug) in page
    assert f'href="{app.install_url}"' in page
    assert app.install_url == f"{github.url}/apps/verify-staging/installations/new"
    key, env = tmp_path / "out" / "github-app.pem", tmp_path / "out" / "github-app.env"
    assert mode(key) == 0o600 and mode(env) == 0o600
    registered = github.manifest_apps.by_slug("verify-staging")
    assert registered is not None
    assert key.read_text() == registered.private_pem
    assert env.read_text().splitlines() == [
        f"GITHUB_APP_ID={registered.app_id}",
        f"GITHUB_WEBHOOK_SECRET={registered.webhook_secret}",
        f"GITHUB_PRIVATE_KEY_PATH={key}",
        f"GITHUB_API_URL={github.url}",
    ]
    assert registered.webhook_secret not in running.out.getvalue()


async def test_an_organization_owns_the_app(github: RunningGitHub, start: Start, tmp_path: Path) -> None:
    target = Target.parse(github_url=github.url, api_url=github.url, org=OWNER)
    running: Running = await start(options_for(github, tmp_path, target=target))
    assert (await running.form()).action.startswith(f"{github.url}/organizations/{OWNER}/settings/apps/new?state=")
    await running.press_button()
    await running.outcome()
    registered = github.manifest_apps.by_slug("verify-staging")
    assert registered is not None and registered.owner == OWNER


async def test_a_redirect_with_another_state_is_refused(github: RunningGitHub, start: Start, tmp_path: Path) -> None:
    running: Running = await start(options_for(github, tmp_path))
    forged = f"{running.page}callback?code=attacker-code&state=guessed"
    async with running.http.get(forged) as answer:
        assert answer.status == 400
        assert texts.STATE_MISMATCH in await answer.text()
    assert not running.task.done()
    assert not (tmp_path / "github-app.pem").exists()
    # The registration the page started still completes.
    await running.press_button()
    assert (await running.outcome()).slug == "verify-staging"


async def test_an_expired_code_is_a_clear_error_and_nothing_is_written(
    github: RunningGitHub, start: Start, tmp_path: Path
) -> None:
    github.manifest_apps.ttl = 0.0
    running: Running = await start(options_for(github, tmp_path))
    status, page = await running.press_button()
    with pytest.raises(RegisterError) as failure:
        await running.outcome()
    expected = texts.CONVERSION_GONE.format(status=422, github=github.url)
    assert str(failure.value) == expected
    assert status == 502 and "already used or has expired" in page
    assert not (tmp_path / "github-app.pem").exists() and not (tmp_path / "github-app.env").exists()


async def test_an_unknown_code_is_a_clear_error(github: RunningGitHub, start: Start, tmp_path: Path) -> None:
    running: Running = await start(options_for(github, tmp_path / "out"))
    form = await running.form()
    state = form.action.rsplit("state=", 1)[1]
    async with running.http.get(f"{running.page}callback?code=never-issued&state={state}") as answer:
        assert answer.status == 502
    with pytest.raises(RegisterError) as failure:
        await running.outcome()
    assert str(failure.value) == texts.CONVERSION_GONE.format(status=404, github=github.url)
    assert not (tmp_path / "out").exists()


#: Where no GitHub answers: the tests that use it end before anything is sent.
NOWHERE = "http://127.0.0.1:9"


def test_existing_files_are_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "github-app.pem"
    key.write_text("the key in use\n")
    argv = ["register", "--webhook-url", WEBHOOK, "--github-url", NOWHERE]
    assert main([*argv, "--out-dir", str(tmp_path), "--timeout", "5"]) == 2
    assert capsys.readouterr().err.strip() == f"verify-staging: {texts.FILE_EXISTS.format(path=key)}"
    assert key.read_text() == "the key in use\n"
    assert not (tmp_path / "github-app.env").exists()


async def test_force_replaces_existing_files_with_private_ones(
    github: RunningGitHub, start: Start, tmp_path: Path
) -> None:
    key = tmp_path / "github-app.pem"
    key.write_text("old key\n")
    os.chmod(key, 0o644)
    running: Running = await start(options_for(github, tmp_path, force=True))
    await running.press_button()
    await running.outcome()
    assert mode(key) == 0o600
    assert "PRIVATE KEY" in key.read_text()


def test_nothing_back_from_github_ends_with_exit_2(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    options = RegisterOptions(
        target=Target.parse(github_url=NOWHERE, api_url=None, org=None),
        webhook_url=WEBHOOK,
        manifest_path=REPO_ROOT / "app.yml",
        outputs=Outputs.in_directory(tmp_path),
        timeout=0.5,
    )
    assert run_register(options, out=out, err=err) == 2
    assert err.getvalue().strip() == f"verify-staging: {texts.TIMED_OUT.format(timeout=0.5)}"
    assert not (tmp_path / "github-app.pem").exists()


def test_the_api_of_github_com_and_of_enterprise_server() -> None:
    assert Target.parse(github_url="https://github.com", api_url=None, org=None).api_url == GITHUB_COM_API
    ghes = Target.parse(github_url="https://ghe.example.test/", api_url=None, org="infra")
    assert ghes.api_url == "https://ghe.example.test/api/v3"
    assert ghes.new_app_url(state="s") == "https://ghe.example.test/organizations/infra/settings/apps/new?state=s"
    app = CreatedApp(app_id=7, slug="vs", html_url="https://github.com/apps/vs", webhook_secret="abc", pem="k")
    outputs = Outputs(Path("/srv/app.pem"), Path("/srv/app.env"))
    on_github_com = outputs.env_text(app, Target.parse(github_url="https://github.com", api_url=None, org=None))
    assert "GITHUB_API_URL" not in on_github_com
    assert "GITHUB_API_URL=https://ghe.example.test/api/v3\n" in outputs.env_text(app, ghes)


def test_bad_flags_stop_with_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "--webhook-url", "bot.example.test/webhooks"]) == 2
    err = capsys.readouterr().err.strip()
    assert pattern(texts.BAD_URL, flag="--webhook-url").fullmatch(err.removeprefix("verify-staging: "))


async def test_a_file_that_cannot_be_written_says_the_app_exists(
    github: RunningGitHub, start: Start, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    running = await start(options_for(github, blocker))
    await running.press_button()
    with pytest.raises(RegisterError) as failure:
        await running.outcome()
    assert pattern(texts.WRITE_FAILED, slug="verify-staging").fullmatch(str(failure.value))
