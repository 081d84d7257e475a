"""Who is calling the simulated GitHub and what they may do: App JWTs (RS256, checked against the App's public
key), installation tokens (1 h), job tokens (GITHUB_TOKEN) and users' personal access tokens, and the table of the
App permission each REST endpoint needs (from GitHub's "Permissions required for GitHub Apps" reference)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt

from lab.github.config import Permission, SimConfig

LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}

# (method, route template) -> alternatives of (permission, level); any one alternative suffices.
ENDPOINT_PERMISSIONS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches"): (("actions", "write"),),
    ("GET", "/repos/{owner}/{repo}/actions/runs"): (("actions", "read"),),
    ("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow}/runs"): (("actions", "read"),),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}"): (("actions", "read"),),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"): (("actions", "read"),),
    ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}"): (("actions", "read"),),
    ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"): (("actions", "read"),),
    ("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel"): (("actions", "write"),),
    ("GET", "/repos/{owner}/{repo}/actions/runners"): (("administration", "read"),),
    ("POST", "/repos/{owner}/{repo}/check-runs"): (("checks", "write"),),
    ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"): (("checks", "write"),),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}"): (("checks", "read"),),
    ("POST", "/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest"): (("checks", "write"),),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"): (("checks", "read"),),
    ("POST", "/repos/{owner}/{repo}/issues/{number}/comments"): (("issues", "write"), ("pull_requests", "write")),
    ("GET", "/repos/{owner}/{repo}/issues/{number}/comments"): (("issues", "read"), ("pull_requests", "read")),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"): (("issues", "write"), ("pull_requests", "write")),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}"): (("issues", "read"), ("pull_requests", "read")),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"): (
        ("issues", "write"),
        ("pull_requests", "write"),
    ),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"): (("metadata", "read"),),
    ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"): (("members", "read"),),
    ("POST", "/repos/{owner}/{repo}/issues"): (("issues", "write"),),
    ("GET", "/repos/{owner}/{repo}/issues"): (("issues", "read"),),
    ("GET", "/repos/{owner}/{repo}/issues/{number}"): (("issues", "read"), ("pull_requests", "read")),
    ("GET", "/repos/{owner}/{repo}/pulls/{number}"): (("pull_requests", "read"),),
    ("GET", "/repos/{owner}/{repo}/contents/{path:.*}"): (("contents", "read"),),
    ("GET", "/repos/{owner}/{repo}"): (("metadata", "read"),),
    # A scheduled verification's commit (issue 15): "Get a branch" needs Contents read.
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"): (("contents", "read"),),
}

# GitHub: "You must authenticate via a GitHub App" — check runs are written by Apps (and Actions) only.
APP_ONLY = {"/repos/{owner}/{repo}/check-runs", "/repos/{owner}/{repo}/check-runs/{check_run_id}"}

JOB_TOKEN_PERMISSIONS = {
    "actions": "write",
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "metadata": "read",
}


class AuthError(Exception):
    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class Kind(StrEnum):
    APP = "app"  # an App JWT
    INSTALLATION = "installation"
    JOB = "job"
    USER = "user"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    login: str  # who acts: the App's bot user, github-actions[bot], or the user
    permissions: dict[str, str] = field(default_factory=dict)
    token_key: str = ""  # what the rate limit is counted against
    run_id: int | None = None
    app_id: int | None = None  # an App JWT's App, when it is one the manifest flow registered

    def allows(self, needed: tuple[tuple[str, str], ...]) -> bool:
        return any(LEVELS.get(self.permissions.get(scope, "none"), 0) >= LEVELS[level] for scope, level in needed)


@dataclass
class IssuedToken:
    token: str
    expires: float  # wall clock
    permissions: dict[str, str]


def user_permissions(role: Permission) -> dict[str, str]:
    """What a user's PAT may do on a public repository, by the user's role."""
    if role == Permission.ADMIN:
        level = "admin"
    elif role.at_least(Permission.WRITE):  # maintain may push and run workflows as write may
        level = "write"
    else:
        # Anyone signed in may comment and react on a public repository's issues and pull requests.
        return {
            "metadata": "read",
            "contents": "read",
            "issues": "write",
            "pull_requests": "write",
            "checks": "read",
            "actions": "read",
            "members": "read",
        }
    scopes = ("actions", "checks", "contents", "issues", "pull_requests", "administration", "members")
    return {"metadata": "read", **dict.fromkeys(scopes, level)}


@dataclass(frozen=True)
class AppIdentity:
    """An App registered on the running lab (the manifest flow): whose JWTs its public key verifies."""

    app_id: int
    client_id: str
    slug: str
    public_pem: str


class Authority:
    """Issues and checks every credential the simulated GitHub accepts."""

    def __init__(self, config: SimConfig, job_tokens: dict[str, int]) -> None:
        self.config = config
        self.job_tokens = job_tokens
        self.installation_tokens: dict[str, IssuedToken] = {}
        self.other_apps: dict[str, AppIdentity] = {}  # by App id and by client id

    def verify_jwt(self, token: str) -> Principal:
        other = self._other_app(token)
        try:
            claims = jwt.decode(
                token,
                other.public_pem if other else self.config.app_public_key_pem,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iss": False},
                leeway=5,
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthError(
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
                "the assertion expires"
            ) from error
        except jwt.PyJWTError as error:
            raise AuthError("A JSON web token could not be decoded") from error
        if int(claims["exp"]) - time.time() > 600 + 5:
            raise AuthError("'Expiration time' claim ('exp') is too far in the future")
        if other is not None:
            return Principal(Kind.APP, other.slug, {}, token_key=f"app:{other.app_id}", app_id=other.app_id)
        if str(claims["iss"]) not in (str(self.config.app_id), self.config.app_client_id):
            raise AuthError("'Issuer' claim ('iss') must be an Integer")
        return Principal(Kind.APP, self.config.app_slug, {}, token_key=f"app:{self.config.app_id}")

    def _other_app(self, token: str) -> AppIdentity | None:
        """The registered App a JWT claims to come from (its signature is checked with that App's key)."""
        if not self.other_apps:
            return None
        try:
            claimed = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        return self.other_apps.get(str(claimed.get("iss")))

    def issue_installation_token(self, narrowed: dict[str, str] | None) -> IssuedToken:
        permissions = dict(self.config.app_permissions)
        if narrowed:
            for scope, level in narrowed.items():
                if LEVELS.get(permissions.get(scope, "none"), 0) < LEVELS.get(level, 9):
                    raise AuthError("The permissions requested are not granted to this installation.", status=422)
            permissions = dict(narrowed)
        issued = IssuedToken(
            token="ghs_" + secrets.token_urlsafe(27),
            expires=time.time() + self.config.timing.token_ttl,
            permissions=permissions,
        )
        self.installation_tokens[issued.token] = issued
        return issued

    @staticmethod
    def expires_at(issued: IssuedToken) -> str:
        return (datetime.fromtimestamp(issued.expires, UTC) - timedelta(microseconds=0)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def principal(self, authorization: str | None) -> Principal | None:
        """The caller behind an `Authorization` header; None when there is no credential at all."""
        if not authorization:
            return None
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() not in ("bearer", "token") or not credential:
            raise AuthError("Bad credentials")
        if credential.count(".") == 2 and credential.startswith("eyJ"):
            return self.verify_jwt(credential)
        issued = self.installation_tokens.get(credential)
        if issued is not None:
            if issued.expires < time.time():
                raise AuthError("Bad credentials")
            return Principal(
                Kind.INSTALLATION,
                f"{self.config.app_slug}[bot]",
                issued.permissions,
                token_key=f"installation:{self.config.installation_id}",
            )
        run_id = self.job_tokens.get(credential)
        if run_id is not None:
            return Principal(
                Kind.JOB, "github-actions[bot]", JOB_TOKEN_PERMISSIONS, token_key=f"run:{run_id}", run_id=run_id
            )
        for user in self.config.users:
            if user.token and secrets.compare_digest(user.token, credential):
                return Principal(
                    Kind.USER, user.login, user_permissions(user.permission), token_key=f"user:{user.login}"
                )
        raise AuthError("Bad credentials")
