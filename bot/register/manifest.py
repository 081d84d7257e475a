"""The App manifest that `register` posts to GitHub (built from app.yml) and the GitHub addresses it talks to.

GitHub: "Registering a GitHub App from a manifest" — the manifest is posted as the form field `manifest` to
`{github}/settings/apps/new` (a personal account) or `{github}/organizations/{org}/settings/apps/new`, with a
`state` query parameter that GitHub sends back unchanged with the code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlencode, urlsplit

import yaml

from bot.texts import register as texts

GITHUB_COM_API = "https://api.github.com"
#: GitHub organization logins: letters, digits and single hyphens (it is put into a URL path).
ORG_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


class RegisterError(Exception):
    """`register` cannot go on; the message is one sentence saying what and how to mend it."""


class HookAttributes(TypedDict):
    url: str
    active: bool


class Manifest(TypedDict):
    """The fields of GitHub's App manifest that verify-staging sets."""

    name: str
    url: str
    description: str
    hook_attributes: HookAttributes
    redirect_url: str
    public: bool
    default_events: list[str]
    default_permissions: dict[str, str]


def absolute_url(value: str, *, flag: str) -> str:
    """`value` without a trailing slash, or RegisterError naming `flag` when it is not an absolute http(s) URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegisterError(texts.BAD_URL.format(flag=flag, value=value))
    return value.rstrip("/")


def api_url_for(github_url: str) -> str:
    """github.com's REST API is api.github.com; GitHub Enterprise Server's is `{its URL}/api/v3`."""
    if urlsplit(github_url).hostname in ("github.com", "www.github.com"):
        return GITHUB_COM_API
    return f"{github_url.rstrip('/')}/api/v3"


@dataclass(frozen=True)
class Target:
    """Where the App is created: the GitHub web URL, its REST API, and the owning organization (None: the user)."""

    github_url: str
    api_url: str
    org: str | None = None

    @classmethod
    def parse(cls, *, github_url: str, api_url: str | None, org: str | None) -> Target:
        web = absolute_url(github_url, flag="--github-url")
        api = absolute_url(api_url, flag="--api-url") if api_url else api_url_for(web)
        if org is not None and not ORG_NAME.match(org):
            raise RegisterError(f"--org must be a GitHub organization login (letters, digits, '-'), got {org!r}.")
        return cls(web, api, org)

    @property
    def is_github_com(self) -> bool:
        return self.api_url == GITHUB_COM_API

    def new_app_url(self, *, state: str) -> str:
        page = f"/organizations/{self.org}/settings/apps/new" if self.org else "/settings/apps/new"
        return f"{self.github_url}{page}?{urlencode({'state': state})}"

    def describe(self) -> str:
        return f"{self.github_url} (organization {self.org})" if self.org else f"{self.github_url} (your account)"


def _strings(value: object, what: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegisterError(texts.MANIFEST_INVALID.format(path=path, problem=f"{what} must be a list of names"))
    return list(value)


def load_manifest(path: Path, *, webhook_url: str, redirect_url: str, name: str | None = None) -> Manifest:
    """app.yml's name, url, description, public flag, events and permissions, with this installation's webhook
    URL and the local page's callback as the redirect."""
    if not path.is_file():
        raise RegisterError(texts.MANIFEST_MISSING.format(path=path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as failure:
        raise RegisterError(texts.MANIFEST_INVALID.format(path=path, problem="not YAML")) from failure
    if not isinstance(data, dict):
        raise RegisterError(texts.MANIFEST_INVALID.format(path=path, problem="not a mapping"))
    permissions = data.get("default_permissions")
    if not isinstance(permissions, dict) or not all(isinstance(v, str) for v in permissions.values()):
        problem = "default_permissions must map permissions to read/write"
        raise RegisterError(texts.MANIFEST_INVALID.format(path=path, problem=problem))
    app_name = name or data.get("name")
    if not isinstance(app_name, str) or not app_name.strip():
        raise RegisterError(texts.MANIFEST_INVALID.format(path=path, problem="it has no name (or pass --name)"))
    home = data.get("url")
    if not isinstance(home, str):
        raise RegisterError(texts.MANIFEST_INVALID.format(path=path, problem="it has no url"))
    return Manifest(
        name=app_name.strip(),
        url=home,
        description=str(data.get("description") or ""),
        hook_attributes=HookAttributes(url=webhook_url, active=True),
        redirect_url=redirect_url,
        public=bool(data.get("public", False)),
        default_events=_strings(data.get("default_events", []), "default_events", path),
        default_permissions={str(k): v for k, v in permissions.items()},
    )


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(manifest, separators=(",", ":"))
