"""GitHub as the App sees it: App JWTs, cached installation tokens, and one REST client per installation+repository.

Implements the GitHubApp / GitHubRepo ports of bot/ports.py on gidgethub + aiohttp. Every call sends
`X-GitHub-Api-Version`, retries (bounded) on 5xx, network errors and rate limits (honouring `Retry-After` and
`x-ratelimit-reset`, with a capped wait), and is counted on the tally of the verification it serves
(bot/accounting.py).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import aiohttp
from gidgethub import HTTPException

from bot.github.models import Issue, PullRequest, Runner, WorkflowJob, WorkflowRun
from bot.github.transport import RetryPolicy, Sleeper, Transport, app_jwt
from bot.model import parse_ts
from bot.permissions import Permission
from bot.ports import (
    CheckRunAction,
    CheckRunOutput,
    CheckRunUpdate,
    GitHubError,
    NewCheckRun,
)

__all__ = ["GitHubAppClient", "GitHubRepoClient", "RetryPolicy", "app_jwt"]


class GitHubAppClient:
    """The App: signs JWTs, caches installation tokens (until 5 min before expiry), hands out GitHubRepo clients."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        app_id: str,
        private_key: str,
        api_url: str = "https://api.github.com",
        api_version: str = "2022-11-28",
        policy: RetryPolicy | None = None,
        sleeper: Sleeper = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._app_id = app_id
        self._private_key = private_key
        self.api_url = api_url.rstrip("/")
        self.api_version = api_version
        self.policy = policy or RetryPolicy()
        self._sleeper = sleeper
        self._clock = clock
        self._tokens: dict[int, tuple[str, float]] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}
        self._transport = self.transport()

    def transport(self) -> Transport:
        return Transport(
            self._session, base_url=self.api_url, policy=self.policy, sleeper=self._sleeper, clock=self._clock
        )

    def headers(self) -> dict[str, str]:
        return {"x-github-api-version": self.api_version}

    def jwt(self) -> str:
        return app_jwt(app_id=self._app_id, private_key=self._private_key, now=self._clock())

    async def installation_token(self, installation_id: int) -> str:
        lock = self._token_locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(installation_id)
            if cached is not None and self._clock() < cached[1] - 300:
                return cached[0]
            try:
                data = await self._transport.post(
                    "/app/installations/{id}/access_tokens",
                    {"id": str(installation_id)},
                    data=b"",
                    jwt=self.jwt(),
                    extra_headers=self.headers(),
                )
            except HTTPException as exc:
                raise GitHubError(
                    f"installation token for {installation_id} refused: {exc}", status=int(exc.status_code)
                ) from None
            expires = parse_ts(data.get("expires_at"))
            expires_at = expires.timestamp() if expires else self._clock() + 3600
            self._tokens[installation_id] = (str(data["token"]), expires_at)
            return str(data["token"])

    async def installation_for(self, repository: str) -> int:
        """The installation id of the App on a repository (GET /repos/{o}/{r}/installation with the JWT)."""
        owner, name = repository.split("/", 1)
        try:
            data = await self._transport.getitem(
                "/repos/{owner}/{repo}/installation",
                {"owner": owner, "repo": name},
                jwt=self.jwt(),
                extra_headers=self.headers(),
            )
        except HTTPException as exc:
            raise GitHubError(f"no installation on {repository}: {exc}", status=int(exc.status_code)) from None
        return int(data["id"])

    def repo(self, *, installation_id: int, repository: str) -> GitHubRepoClient:
        return GitHubRepoClient(self, installation_id=installation_id, repository=repository)


class GitHubRepoClient:
    """GitHub as one installation sees one repository (the GitHubRepo port)."""

    def __init__(self, app: GitHubAppClient, *, installation_id: int, repository: str) -> None:
        self._app = app
        self.installation_id = installation_id
        self.repository = repository
        self._owner, self._name = repository.split("/", 1)
        self._gh = app.transport()

    def _vars(self, **extra: object) -> dict[str, Any]:
        return {"owner": self._owner, "repo": self._name, **extra}

    async def _call(self, method: str, path: str, url_vars: Mapping[str, Any], data: Any = b"") -> Any:
        token = await self._app.installation_token(self.installation_id)
        url = "/repos/{owner}/{repo}" + path
        headers = self._app.headers()
        try:
            if method == "GET":
                return await self._gh.getitem(url, url_vars, oauth_token=token, extra_headers=headers)
            if method == "POST":
                return await self._gh.post(url, url_vars, data=data, oauth_token=token, extra_headers=headers)
            if method == "PATCH":
                return await self._gh.patch(url, url_vars, data=data, oauth_token=token, extra_headers=headers)
        except HTTPException as exc:
            raise GitHubError(f"{method} {path} failed: {exc}", status=int(exc.status_code)) from None
        raise ValueError(method)

    async def _iter(self, path: str, url_vars: Mapping[str, Any], key: str | None) -> list[Any]:
        token = await self._app.installation_token(self.installation_id)
        url = "/repos/{owner}/{repo}" + path
        try:
            return [
                item
                async for item in self._gh.getiter(
                    url, url_vars, oauth_token=token, extra_headers=self._app.headers(), iterable_key=key
                )
            ]
        except HTTPException as exc:
            raise GitHubError(f"GET {path} failed: {exc}", status=int(exc.status_code)) from None

    async def dispatch_workflow(self, *, workflow: str, ref: str, inputs: Mapping[str, str]) -> int | None:
        path = "/actions/workflows/{workflow}/dispatches"
        body: dict[str, Any] = {"ref": ref, "inputs": dict(inputs), "return_run_details": True}
        try:
            data = await self._call("POST", path, self._vars(workflow=workflow), body)
        except GitHubError as exc:
            # API versions or GHES releases that predate return_run_details reject it as an unknown parameter.
            if exc.status not in (400, 422):
                raise
            del body["return_run_details"]
            await self._call("POST", path, self._vars(workflow=workflow), body)
            return None
        if isinstance(data, dict) and data.get("workflow_run_id") is not None:
            return int(data["workflow_run_id"])
        return None

    async def get_run(self, run_id: int) -> WorkflowRun:
        return WorkflowRun.from_api(await self._call("GET", "/actions/runs/{run_id}", self._vars(run_id=run_id)))

    async def list_runs(self, *, workflow: str, event: str, created_since: datetime) -> list[WorkflowRun]:
        since = created_since.strftime("%Y-%m-%dT%H:%M:%SZ")
        items = await self._iter(
            "/actions/workflows/{workflow}/runs{?event,created,per_page}",
            self._vars(workflow=workflow, event=event, created=f">={since}", per_page=100),
            "workflow_runs",
        )
        return [WorkflowRun.from_api(i) for i in items]

    async def list_jobs(self, run_id: int) -> list[WorkflowJob]:
        items = await self._iter(
            "/actions/runs/{run_id}/jobs{?per_page}", self._vars(run_id=run_id, per_page=100), "jobs"
        )
        return [WorkflowJob.from_api(i) for i in items]

    async def job_log(self, job_id: int) -> str:
        token = await self._app.installation_token(self.installation_id)
        try:
            return await self._gh.download(
                "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs",
                self._vars(job_id=job_id),
                oauth_token=token,
                extra_headers=self._app.headers(),
            )
        except HTTPException as exc:
            raise GitHubError(f"GET the log of job {job_id} failed: {exc}", status=int(exc.status_code)) from None

    async def cancel_run(self, run_id: int) -> None:
        await self._call("POST", "/actions/runs/{run_id}/cancel", self._vars(run_id=run_id), b"")

    async def list_runners(self) -> list[Runner]:
        items = await self._iter("/actions/runners{?per_page}", self._vars(per_page=100), "runners")
        return [Runner.from_api(i) for i in items]

    async def list_issues(self, *, labels: Sequence[str], since: datetime) -> list[Issue]:
        items = await self._iter(
            "/issues{?labels,since,state,per_page}",
            self._vars(labels=",".join(labels), since=since.strftime("%Y-%m-%dT%H:%M:%SZ"), state="all", per_page=100),
            None,
        )
        return [Issue.from_api(i) for i in items]

    async def get_pull_request(self, number: int) -> PullRequest:
        return PullRequest.from_api(await self._call("GET", "/pulls/{number}", self._vars(number=number)))

    async def get_permission(self, user: str) -> str:
        try:
            data = await self._call("GET", "/collaborators/{user}/permission", self._vars(user=user))
        except GitHubError as exc:
            if exc.status == 404:  # not a collaborator (or no such user)
                return "none"
            raise
        # role_name tells maintain/triage apart (the legacy `permission` folds them into write/read); a custom
        # role's name is not in the ladder, so fall back to the legacy value for it.
        role = str(data.get("role_name") or "")
        return role if Permission.named(role) is not None else str(data.get("permission") or Permission.NONE)

    async def is_team_member(self, *, org: str, team: str, user: str) -> bool:
        token = await self._app.installation_token(self.installation_id)
        try:
            data = await self._gh.getitem(
                "/orgs/{org}/teams/{team}/memberships/{user}",
                {"org": org, "team": team, "user": user},
                oauth_token=token,
                extra_headers=self._app.headers(),
            )
        except HTTPException as exc:
            if int(exc.status_code) == 404:
                return False
            raise GitHubError(f"team membership of {user} failed: {exc}", status=int(exc.status_code)) from None
        return isinstance(data, dict) and data.get("state") == "active"

    async def get_file(self, path: str, *, ref: str | None = None) -> str | None:
        try:
            data = await self._call("GET", "/contents/{+path}{?ref}", self._vars(path=path, ref=ref))
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("encoding") != "base64":
            return None
        return base64.b64decode(str(data.get("content") or "")).decode("utf-8")

    async def add_reaction(self, comment_id: int, content: str) -> None:
        await self._call("POST", "/issues/comments/{id}/reactions", self._vars(id=comment_id), {"content": content})

    async def create_comment(self, issue_number: int, body: str) -> int:
        data = await self._call("POST", "/issues/{number}/comments", self._vars(number=issue_number), {"body": body})
        return int(data["id"])

    async def update_comment(self, comment_id: int, body: str) -> None:
        await self._call("PATCH", "/issues/comments/{id}", self._vars(id=comment_id), {"body": body})

    async def create_check_run(self, check: NewCheckRun) -> int:
        body: dict[str, Any] = {
            "name": check.name,
            "head_sha": check.head_sha,
            "status": check.status,
            "external_id": check.external_id,
            "output": _output(check.output),
        }
        if check.actions:
            body["actions"] = [_action(a) for a in check.actions]
        if check.details_url is not None:
            body["details_url"] = check.details_url
        if check.started_at is not None:
            body["started_at"] = check.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        data = await self._call("POST", "/check-runs", self._vars(), body)
        return int(data["id"])

    async def update_check_run(self, check_run_id: int, update: CheckRunUpdate) -> None:
        body: dict[str, Any] = {}
        if update.status is not None:
            body["status"] = update.status
        if update.conclusion is not None:
            body["conclusion"] = update.conclusion
        if update.output is not None:
            body["output"] = _output(update.output)
        if update.actions is not None:
            body["actions"] = [_action(a) for a in update.actions]
        if update.completed_at is not None:
            body["completed_at"] = update.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        await self._call("PATCH", "/check-runs/{id}", self._vars(id=check_run_id), body)

    async def default_branch(self) -> str:
        data = await self._call("GET", "", self._vars())
        return str(data["default_branch"])

    async def branch_head(self, branch: str) -> str:
        data = await self._call("GET", "/branches/{branch}", self._vars(branch=branch))
        return str(data["commit"]["sha"])

    async def create_issue(self, *, title: str, body: str, labels: Sequence[str]) -> int:
        data = await self._call("POST", "/issues", self._vars(), {"title": title, "body": body, "labels": list(labels)})
        return int(data["number"])


def _output(output: CheckRunOutput) -> dict[str, str]:
    body = {"title": output.title, "summary": output.summary}
    if output.text is not None:
        body["text"] = output.text
    return body


def _action(action: CheckRunAction) -> dict[str, str]:
    return {"label": action.label, "description": action.description, "identifier": action.identifier}
