"""The details page in a real browser (Debian's Chromium, headless): the bot's web app serves a finished
verification's page on 127.0.0.1; the page renders, its timeline picture is visible in a screenshot, and the
browser reports nothing on its console (no script error, no blocked style or image under the page's CSP)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image

from bot.details import details_pages
from bot.metrics import Metrics
from bot.settings import Settings, load_settings
from bot.store import Store
from bot.web import WebhookIngress, build_web_app
from tests.support.settings import secret_env, write_example_settings
from tests.support.verifications import finished_with_evidence

CHROMIUM = "chromium"
#: Chromium starts, loads and paints a local page in a few seconds; this bounds a hung browser.
BROWSER_TIMEOUT = 90
WINDOW = (1280, 1600)
#: The timeline's colours for a succeeded job and a failed one (bot/reporting/timeline.py): bars are solid fills.
JOB_SUCCESS_RGB = (0x2D, 0xA4, 0x4E)
JOB_FAILURE_RGB = (0xCF, 0x22, 0x2E)


def chromium() -> str:
    path = shutil.which(CHROMIUM)
    if path is None:
        pytest.fail("chromium is not installed: run scripts/install-system-packages.sh (CI runs it first).")
    return path


@pytest.fixture
async def page_url(tmp_path: Path) -> AsyncIterator[str]:
    """The bot's web app (as `serve` builds it, with `server.public_url` set) on 127.0.0.1, holding one finished
    verification; yields the URL of its details page."""
    path = write_example_settings(tmp_path, server={"public_url": "https://verify-staging.example.test"})
    settings: Settings = load_settings(str(path), secret_env(tmp_path / "secrets"))
    store = await Store.open(str(tmp_path / "bot.db"))
    v = finished_with_evidence()
    await store.save_verification(v)
    metrics = Metrics()

    async def process(*_: object) -> None:
        raise AssertionError("no delivery is sent in this test")

    ingress = WebhookIngress(
        secret=settings.secrets.webhook_secret, store=store, metrics=metrics, accepts=lambda _: False, process=process
    )
    runner = web.AppRunner(build_web_app(ingress, metrics, details=details_pages(settings, store)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/verifications/{v.verification_id}"
    finally:
        await runner.cleanup()
        await store.close()


async def screenshot(url: str, target: Path, profile: Path) -> str:
    """Load `url` in headless Chromium, save a screenshot to `target`, return what the browser logged."""
    process = await asyncio.create_subprocess_exec(
        chromium(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={target}",
        url,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(BROWSER_TIMEOUT):
            _, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stderr.decode(errors="replace")


async def test_the_details_page_renders_with_its_timeline_and_no_console_message(page_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "details.png"
    log = await screenshot(page_url, shot, tmp_path / "profile")

    # Chromium logs every console message (errors, CSP violations, warnings) as `INFO:CONSOLE`; the page has no
    # script, so any such line is a defect.
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []
    with Image.open(shot) as image:
        assert image.size == WINDOW
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 22)
    assert colours is not None
    # A blank or unstyled error page has a handful of colours; the page with its picture has many.
    assert len(colours) > 200, f"only {len(colours)} colours: the page looks blank"
    counts = {rgb: n for n, rgb in colours}
    # The timeline's bars are painted: its inline SVG is visible, not blocked or empty.
    assert counts.get(JOB_SUCCESS_RGB, 0) > 500
    assert counts.get(JOB_FAILURE_RGB, 0) > 20
