"""`verify-staging register` in a real browser (Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver): the command's local page, its button, the simulated GitHub's new-App page and its redirect back,
the success page; then the key file and env file it wrote work against the simulated GitHub."""

from __future__ import annotations

import asyncio
import re
import shutil
import stat
import sys
import time
from pathlib import Path

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bot.texts import register as texts
from lab.github.server import RunningGitHub
from tests.paths import REPO_ROOT
from tests.support.lab_github import lab_github

WEBHOOK = "https://verify-staging.example.test/webhooks"
#: Chromium starts, loads two local pages and follows one redirect in seconds; this bounds a hung browser.
BROWSER_TIMEOUT = 90.0
#: How long `register` waits for the browser: more than the browser may take, so the browser's deadline fires first.
REGISTER_TIMEOUT = BROWSER_TIMEOUT + 60.0
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def executable(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/install-system-packages.sh (CI runs it first).")
    return path


def click_through(page_url: str, profile: Path) -> tuple[str, str]:
    """Opens the local page, presses its button, waits for the success page; returns its heading and install link."""
    options = webdriver.ChromeOptions()
    options.binary_location = executable("chromium")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=executable("chromedriver")))
    try:
        driver.set_page_load_timeout(BROWSER_TIMEOUT)
        driver.get(page_url)
        driver.find_element(By.ID, "create").click()
        WebDriverWait(driver, BROWSER_TIMEOUT).until(lambda d: d.find_elements(By.ID, "install"))
        link = driver.find_element(By.ID, "install").get_attribute("href") or ""
        return driver.find_element(By.TAG_NAME, "h1").text, link
    finally:
        driver.quit()


async def page_url_of(process: asyncio.subprocess.Process) -> tuple[str, list[str]]:
    """Reads `register`'s output up to the line that names its local page."""
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), BROWSER_TIMEOUT)).decode()
        assert line, f"register ended before printing its page: {lines}"
        lines.append(line)
        found = re.search(r"Open (http://127\.0\.0\.1:\d+/) ", line)
        if found:
            return found.group(1), lines


async def get_app(github: RunningGitHub, key_pem: str, app_id: str) -> tuple[int, dict[str, object]]:
    now = int(time.time())
    token = jwt.encode({"iat": now - 30, "exp": now + 300, "iss": app_id}, key_pem, algorithm="RS256")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{github.url}/app", headers={"Authorization": f"Bearer {token}"}) as answer,
    ):
        return answer.status, await answer.json()


async def test_register_creates_the_app_from_a_browser_and_writes_working_credentials(tmp_path: Path) -> None:
    out_dir = tmp_path / "credentials"
    async with lab_github(tmp_path) as github:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "register",
            "--webhook-url",
            WEBHOOK,
            "--github-url",
            github.url,
            "--api-url",
            github.url,
            "--out-dir",
            str(out_dir),
            "--timeout",
            str(REGISTER_TIMEOUT),
            cwd=REPO_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            page_url, printed = await page_url_of(process)
            heading, install = await asyncio.to_thread(click_through, page_url, tmp_path / "chromium-profile")
            rest, errors = await asyncio.wait_for(process.communicate(), REGISTER_TIMEOUT)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        output = "".join(printed) + rest.decode()
        assert process.returncode == 0, errors.decode()

        registered = github.manifest_apps.by_slug("verify-staging")
        assert registered is not None, "the App does not exist on the simulated GitHub"
        assert heading == texts.SUCCESS_TITLE.format(slug="verify-staging")
        assert install == f"{github.url}/apps/verify-staging/installations/new"
        assert texts.NEXT_STEP.format(install_url=install) in output
        assert registered.webhook_secret not in output + errors.decode()
        assert "PRIVATE KEY" not in output + errors.decode()

        key, env = out_dir / "github-app.pem", out_dir / "github-app.env"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(env.stat().st_mode) == 0o600
        written = dict(line.split("=", 1) for line in env.read_text().splitlines())
        assert written == {
            "GITHUB_APP_ID": str(registered.app_id),
            "GITHUB_WEBHOOK_SECRET": registered.webhook_secret,
            "GITHUB_PRIVATE_KEY_PATH": str(key),
            "GITHUB_API_URL": github.url,
        }
        private = serialization.load_pem_private_key(Path(written["GITHUB_PRIVATE_KEY_PATH"]).read_bytes(), None)
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert public.decode() == registered.public_pem
        status, app = await get_app(github, key.read_text(), written["GITHUB_APP_ID"])
        assert status == 200
        assert app["slug"] == "verify-staging"
        assert app["events"] == registered.manifest["default_events"]
