"""GitHub's App-manifest flow on the simulated GitHub: the "new App from manifest" web page (approved at once, as if
the user had confirmed) and `POST /app-manifests/{code}/conversions`, which hands over the new App's credentials.

GitHub: "Registering a GitHub App from a manifest" (docs.github.com/apps/sharing-github-apps/
registering-a-github-app-from-a-manifest) and the REST reference "Create a GitHub App from a manifest". The lab
serves the web pages and the REST API on one origin without GitHub Enterprise Server's `/api/v3` prefix, so a
client gives the lab's URL both as its web URL and as its API URL.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from lab.github.auth import AppIdentity
from lab.github.http import error
from lab.github.keys import rsa_key_pair
from lab.github.objects import node_id
from lab.github.sim import SIM, Sim

routes = web.RouteTableDef()

#: GitHub: "the temporary code ... expires after one hour".
CODE_TTL = 3600.0
#: The lab numbers the Apps it registers from here (the lab's own App keeps its configured id).
FIRST_APP_ID = 900_001
LEVELS = ("read", "write", "admin")


class ManifestInvalid(ValueError):
    """The posted manifest is not one GitHub would accept; the message is what GitHub's page would say."""


@dataclass
class ManifestApp:
    """An App registered from a manifest, with the credentials its conversion hands over once."""

    app_id: int
    slug: str
    name: str
    owner: str
    owner_kind: str
    manifest: dict[str, Any]
    client_id: str
    client_secret: str
    webhook_secret: str
    private_pem: str
    public_pem: str
    created_at: str


@dataclass
class PendingCode:
    app_id: int
    expires: float


@dataclass
class ManifestApps:
    """The Apps the manifest flow registered and the conversion codes not yet used."""

    ttl: float = CODE_TTL
    apps: dict[int, ManifestApp] = field(default_factory=dict)
    codes: dict[str, PendingCode] = field(default_factory=dict)

    def by_slug(self, slug: str) -> ManifestApp | None:
        return next((a for a in self.apps.values() if a.slug == slug), None)


MANIFEST_APPS = web.AppKey("manifest_apps", ManifestApps)


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _absolute_url(value: object, what: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ManifestInvalid(f"{what} must be an absolute http(s) URL")
    return str(value)


def validate(raw: str | None, taken: set[str]) -> dict[str, Any]:
    """The manifest as GitHub's page checks it: JSON, a name not in use, `url`, `hook_attributes.url`,
    `redirect_url`, permission levels and events."""
    if not raw:
        raise ManifestInvalid("The manifest is missing")
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as failure:
        raise ManifestInvalid(f"The manifest is not valid JSON ({failure.msg})") from failure
    if not isinstance(manifest, dict):
        raise ManifestInvalid("The manifest must be a JSON object")
    name = manifest.get("name")
    if not isinstance(name, str) or not slug_of(name):
        raise ManifestInvalid("Name can't be blank")
    if slug_of(name) in taken:
        raise ManifestInvalid("Name is already in use")
    _absolute_url(manifest.get("url"), "url")
    hook = manifest.get("hook_attributes")
    if hook is not None:
        if not isinstance(hook, dict):
            raise ManifestInvalid("hook_attributes must be an object")
        _absolute_url(hook.get("url"), "hook_attributes.url")
    if manifest.get("redirect_url") is not None:
        _absolute_url(manifest["redirect_url"], "redirect_url")
    permissions = manifest.get("default_permissions") or {}
    if not isinstance(permissions, dict) or any(level not in LEVELS for level in permissions.values()):
        raise ManifestInvalid(f"default_permissions must map permissions to one of {', '.join(LEVELS)}")
    events = manifest.get("default_events") or []
    if not isinstance(events, list) or not all(isinstance(e, str) and e for e in events):
        raise ManifestInvalid("default_events must be a list of event names")
    return manifest


def register(sim: Sim, apps: ManifestApps, manifest: dict[str, Any], *, owner: str, owner_kind: str) -> ManifestApp:
    """Creates the App (GitHub creates it when the user confirms the page) and makes its JWTs valid."""
    private_pem, public_pem = rsa_key_pair()
    app_id = FIRST_APP_ID + len(apps.apps)
    name = str(manifest["name"])
    app = ManifestApp(
        app_id=app_id,
        slug=slug_of(name),
        name=name,
        owner=owner,
        owner_kind=owner_kind,
        manifest=manifest,
        client_id=f"Iv23li{secrets.token_hex(7)}",
        client_secret=secrets.token_hex(20),
        webhook_secret=secrets.token_hex(20),
        private_pem=private_pem,
        public_pem=public_pem,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    apps.apps[app_id] = app
    sim.authority.other_apps[str(app_id)] = AppIdentity(app_id, app.client_id, app.slug, public_pem)
    sim.authority.other_apps[app.client_id] = sim.authority.other_apps[str(app_id)]
    sim.config.truth.record("app_registered", app_id=app_id, slug=app.slug, owner=owner)
    return app


def app_shape(sim: Sim, app: ManifestApp) -> dict[str, Any]:
    """The App as `GET /app` shows it (GitHub's "integration" object)."""
    base = sim.shapes.base
    permissions = {"metadata": "read", **(app.manifest.get("default_permissions") or {})}
    return {
        "id": app.app_id,
        "slug": app.slug,
        "node_id": node_id("A", app.app_id),
        "client_id": app.client_id,
        "owner": sim.shapes.user(app.owner, kind=app.owner_kind),
        "name": app.name,
        "description": str(app.manifest.get("description") or ""),
        "external_url": str(app.manifest["url"]),
        "html_url": f"{base}/apps/{app.slug}",
        "created_at": app.created_at,
        "updated_at": app.created_at,
        "permissions": permissions,
        "events": list(app.manifest.get("default_events") or []),
        "installations_count": 0,
    }


def _page(status: int, title: str, message: str) -> web.Response:
    body = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1><p>{html.escape(message)}"
    return web.Response(status=status, text=body, content_type="text/html")


@routes.get("/settings/apps/new")
@routes.post("/settings/apps/new")
@routes.get("/organizations/{org}/settings/apps/new")
@routes.post("/organizations/{org}/settings/apps/new")
async def new_app_from_manifest(request: web.Request) -> web.StreamResponse:
    """GitHub's "Create GitHub App" page for a posted manifest; the lab's user confirms at once."""
    sim = request.app[SIM]
    apps = request.app[MANIFEST_APPS]
    form = await request.post() if request.method == "POST" else request.query
    raw = form.get("manifest")
    taken = {sim.config.app_slug, *(a.slug for a in apps.apps.values())}
    try:
        manifest = validate(raw if isinstance(raw, str) else None, taken)
    except ManifestInvalid as failure:
        return _page(422, "Invalid GitHub App configuration", str(failure))
    org = request.match_info.get("org")
    if org is not None and org.lower() != sim.config.owner.lower():
        return _page(404, "Not Found", f"There is no organization named {org}")
    owner, kind = (org, "Organization") if org else (sim.config.owner, "User")
    app = register(sim, apps, manifest, owner=owner, owner_kind=kind)
    code = secrets.token_hex(10)
    apps.codes[code] = PendingCode(app.app_id, time.time() + apps.ttl)
    redirect = manifest.get("redirect_url")
    if not redirect:
        raise web.HTTPFound(f"{sim.shapes.base}/apps/{app.slug}")
    query = {"code": code}
    if "state" in request.query:
        query["state"] = request.query["state"]
    separator = "&" if urlsplit(redirect).query else "?"
    raise web.HTTPFound(f"{redirect}{separator}{urlencode(query)}")


@routes.post("/app-manifests/{code}/conversions")
async def conversion(request: web.Request) -> web.Response:
    """The new App's id, secrets and private key, for the one code its page redirected with (single use, 1 h)."""
    sim = request.app[SIM]
    apps = request.app[MANIFEST_APPS]
    pending = apps.codes.pop(request.match_info["code"], None)
    if pending is None:
        return error(404, "Not Found")
    if pending.expires < time.time():
        # The lab's reading: an expired code fails validation (GitHub documents 404 and 422 for this endpoint).
        return error(422, "Validation Failed", errors=[{"resource": "Manifest", "code": "expired"}])
    app = apps.apps[pending.app_id]
    body = {
        **app_shape(sim, app),
        "client_secret": app.client_secret,
        "webhook_secret": app.webhook_secret,
        "pem": app.private_pem,
    }
    return web.json_response(body, status=201)


def install(app: web.Application) -> None:
    """Adds the manifest flow's pages and endpoint to the simulated GitHub's application."""
    app[MANIFEST_APPS] = ManifestApps()
    app.add_routes(routes)
