"""Fetches the new App's credentials from GitHub (the manifest conversion) and writes them where `serve` reads
them: the private key and an env file, both created readable by their owner only."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import aiohttp

from bot.register.manifest import RegisterError, Target
from bot.texts import register as texts

#: The conversion is one small POST; a GitHub that does not answer within this is reported, not waited on.
CONVERSION_TIMEOUT = 30.0


@dataclass(frozen=True)
class CreatedApp:
    """What the conversion hands over once (GitHub: "Create a GitHub App from a manifest", 201)."""

    app_id: int
    slug: str
    html_url: str
    webhook_secret: str = field(repr=False)
    pem: str = field(repr=False)

    @property
    def install_url(self) -> str:
        return f"{self.html_url}/installations/new"


def _reason(body: object) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    return str(message) if message else "no message"


async def convert(session: aiohttp.ClientSession, target: Target, *, code: str) -> CreatedApp:
    """`POST {api}/app-manifests/{code}/conversions` (no credentials: the code is the proof)."""
    url = f"{target.api_url}/app-manifests/{quote(code, safe='')}/conversions"
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    try:
        async with session.post(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=CONVERSION_TIMEOUT)
        ) as answer:
            body: object = await answer.json(content_type=None) if answer.content_length != 0 else None
            status = answer.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as failure:
        reason = str(failure) or type(failure).__name__
        raise RegisterError(texts.CONVERSION_UNREACHABLE.format(api_url=target.api_url, reason=reason)) from failure
    if status in (404, 422):
        raise RegisterError(texts.CONVERSION_GONE.format(status=status, github=target.github_url))
    if status != 201:
        raise RegisterError(texts.CONVERSION_FAILED.format(status=status, reason=_reason(body)))
    return created_app(body)


def created_app(body: object) -> CreatedApp:
    if not isinstance(body, dict):
        raise RegisterError(texts.CONVERSION_INCOMPLETE.format(field="a JSON object"))
    for name, kind in (("id", int), ("slug", str), ("html_url", str), ("webhook_secret", str), ("pem", str)):
        if not isinstance(body.get(name), kind) or body.get(name) in ("", None):
            raise RegisterError(texts.CONVERSION_INCOMPLETE.format(field=f"`{name}`"))
    pem = str(body["pem"])
    if "PRIVATE KEY-----" not in pem:
        raise RegisterError(texts.CONVERSION_INCOMPLETE.format(field="a PEM private key in `pem`"))
    return CreatedApp(
        app_id=int(body["id"]),
        slug=str(body["slug"]),
        html_url=str(body["html_url"]).rstrip("/"),
        webhook_secret=str(body["webhook_secret"]),
        pem=pem,
    )


#: What an env file (docker --env-file, systemd EnvironmentFile, `set -a; . file`) holds without quoting.
PLAIN_VALUE = re.compile(r"^[A-Za-z0-9._/:@+=~-]+$")


@dataclass(frozen=True)
class Outputs:
    """Where the credentials go: `{dir}/github-app.pem` and `{dir}/github-app.env`."""

    key_path: Path
    env_path: Path

    @classmethod
    def in_directory(cls, directory: Path) -> Outputs:
        base = directory.resolve()
        return cls(base / "github-app.pem", base / "github-app.env")

    def refuse_existing(self, *, force: bool) -> None:
        """Before anything is created on GitHub: say now, not after, that a file is in the way."""
        for path in (self.key_path, self.env_path):
            if path.exists() and not force:
                raise RegisterError(texts.FILE_EXISTS.format(path=path))

    def env_text(self, app: CreatedApp, target: Target) -> str:
        values = {
            "GITHUB_APP_ID": str(app.app_id),
            "GITHUB_WEBHOOK_SECRET": app.webhook_secret,
            "GITHUB_PRIVATE_KEY_PATH": str(self.key_path),
        }
        if not target.is_github_com:
            values["GITHUB_API_URL"] = target.api_url
        for name, value in values.items():
            if not PLAIN_VALUE.match(value):
                raise RegisterError(texts.UNSAFE_VALUE.format(name=name))
        return "".join(f"{name}={value}\n" for name, value in values.items())

    def write(self, app: CreatedApp, target: Target, *, force: bool) -> None:
        env = self.env_text(app, target)
        for path, text in (
            (self.key_path, app.pem if app.pem.endswith("\n") else app.pem + "\n"),
            (self.env_path, env),
        ):
            try:
                write_private(path, text, force=force)
            except OSError as failure:
                reason = failure.strerror or type(failure).__name__
                message = texts.WRITE_FAILED.format(path=path, reason=reason, slug=app.slug, html_url=app.html_url)
                raise RegisterError(message) from failure


def write_private(path: Path, text: str, *, force: bool) -> None:
    """Creates `path` with mode 0600 from its first byte (never world-readable, whatever the umask); an existing
    file is replaced only with `force`, atomically (a new file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(f".{path.name}.new") if force else path
    if force:
        target.unlink(missing_ok=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as failure:
        raise RegisterError(texts.FILE_EXISTS.format(path=path)) from failure
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)
    if force:
        os.replace(target, path)
