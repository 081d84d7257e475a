"""Talks to JIRA (REST v2) for the reports and the sign-off: issue status, transitions, comments, attachments.

bot.ports.JiraPort on the `jira` library. That library is synchronous, so every call runs in a worker thread
(asyncio.to_thread) and the event loop keeps serving webhooks meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from bot.ports import JiraAttachment, JiraError, JiraTransition

T = TypeVar("T")


class JiraClient:
    """bot.ports.JiraPort. Construction sends nothing; the first call opens the HTTP session."""

    def __init__(
        self,
        *,
        url: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._url = url.rstrip("/")
        self._token = token
        self._basic = (user, password) if user and password else None
        self._timeout = timeout
        self._client: JIRA | None = None
        self._me: dict[str, Any] | None = None
        # One requests.Session is shared; calls are serialised rather than trusting it across threads.
        self._lock = threading.Lock()

    async def status(self, key: str) -> str:
        def call(jira: JIRA) -> str:
            return str(jira.issue(key, fields="status").fields.status.name)

        return await self._run(f"read issue {key}", call)

    async def transitions(self, key: str) -> list[JiraTransition]:
        def call(jira: JIRA) -> list[JiraTransition]:
            offered: list[dict[str, Any]] = jira.transitions(key)
            return [
                JiraTransition(
                    id=str(tr["id"]),
                    name=str(tr.get("name") or ""),
                    to_status=str((tr.get("to") or {}).get("name") or tr.get("name") or ""),
                )
                for tr in offered
            ]

        return await self._run(f"list transitions of {key}", call)

    async def do_transition(self, key: str, transition_id: str) -> None:
        def call(jira: JIRA) -> None:
            # A numeric id goes straight to the POST; a name would cost a lookup first.
            jira.transition_issue(key, transition_id)

        await self._run(f"transition {key}", call)

    async def add_comment(self, key: str, body: str) -> str:
        def call(jira: JIRA) -> str:
            return str(jira.add_comment(key, body).id)

        return await self._run(f"comment on {key}", call)

    async def attachments(self, key: str) -> list[JiraAttachment]:
        def call(jira: JIRA) -> list[JiraAttachment]:
            me = self._myself(jira)
            listed = getattr(jira.issue(key, fields="attachment").fields, "attachment", None) or []
            return [_attachment(a.raw, me) for a in listed]

        return await self._run(f"list the attachments of {key}", call)

    async def add_attachment(self, key: str, *, filename: str, content: bytes) -> JiraAttachment:
        def call(jira: JIRA) -> JiraAttachment:
            # The library sends the multipart body with `X-Atlassian-Token: no-check`, which Jira requires here.
            added = jira.add_attachment(key, attachment=io.BytesIO(content), filename=filename)
            return _attachment(added.raw, self._myself(jira))

        return await self._run(f"attach {filename} to {key}", call)

    async def delete_attachment(self, attachment_id: str) -> None:
        def call(jira: JIRA) -> None:
            jira.delete_attachment(attachment_id)

        await self._run(f"delete attachment {attachment_id}", call)

    def _myself(self, jira: JIRA) -> dict[str, Any]:
        """Who the bot is in JIRA (asked once): Server and Data Center name users, Cloud gives account ids."""
        if self._me is None:
            self._me = dict(jira.myself())
        return self._me

    async def _run(self, what: str, call: Callable[[JIRA], T]) -> T:
        def locked() -> T:
            with self._lock:
                return call(self._connect())

        try:
            return await asyncio.to_thread(locked)
        except JIRAError as exc:
            detail = (exc.text or "").strip()[:200]
            raise JiraError(f"JIRA could not {what}: HTTP {exc.status_code} {detail}".rstrip()) from None
        except requests.RequestException as exc:
            raise JiraError(f"JIRA at {self._url} could not be reached to {what} ({type(exc).__name__})") from None

    def _connect(self) -> JIRA:
        if self._client is None:
            self._client = JIRA(
                server=self._url,
                token_auth=self._token,
                basic_auth=self._basic if self._token is None else None,
                get_server_info=False,
                timeout=self._timeout,
                # Our reporters retry on their own clock; the library would sleep 10-20 s per refused connection.
                max_retries=0,
            )
        return self._client


def _attachment(raw: dict[str, Any], me: dict[str, Any]) -> JiraAttachment:
    author = raw.get("author") or {}
    mine = any(author.get(k) and author.get(k) == me.get(k) for k in ("accountId", "key", "name"))
    return JiraAttachment(
        id=str(raw.get("id", "")), filename=str(raw.get("filename", "")), size=int(raw.get("size") or 0), mine=mine
    )
