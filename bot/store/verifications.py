"""Verifications as their documents, and the events each recorded."""

from __future__ import annotations

import json
from datetime import UTC

from bot.model import Verification
from bot.serialize import verification_from_json, verification_to_json
from bot.store.tables import Tables, now


class Verifications(Tables):
    """Verification documents and their events."""

    async def save_verification(self, v: Verification) -> None:
        """Insert or replace the whole verification."""
        await self._db.execute(
            "INSERT INTO verifications (verification_id, repository, pull_request, environment, started_at,"
            " completed_at, conclusion, document, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (verification_id) DO UPDATE SET repository = excluded.repository,"
            " pull_request = excluded.pull_request, environment = excluded.environment,"
            " started_at = excluded.started_at, completed_at = excluded.completed_at,"
            " conclusion = excluded.conclusion, document = excluded.document, updated_at = excluded.updated_at",
            (
                v.verification_id,
                v.repository,
                v.pull_request,
                v.environment,
                v.started_at.astimezone(UTC).isoformat(),
                v.completed_at.astimezone(UTC).isoformat() if v.completed_at else None,
                v.conclusion.value if v.conclusion else None,
                verification_to_json(v),
                now(),
            ),
        )

    async def load_verification(self, verification_id: str) -> Verification | None:
        return await self._one_verification(
            "SELECT document FROM verifications WHERE verification_id = ?", (verification_id,)
        )

    async def latest_verification(self, *, repository: str, pull_request: int) -> Verification | None:
        return await self._one_verification(
            "SELECT document FROM verifications WHERE lower(repository) = lower(?) AND pull_request = ?"
            " ORDER BY started_at DESC, verification_id DESC LIMIT 1",
            (repository, pull_request),
        )

    async def verification_ids(self, *, repository: str, pull_request: int) -> list[str]:
        """Every verification of the pull request, oldest first (a re-run replaces their JIRA attachments)."""
        ids = await self._first_column(
            "SELECT verification_id FROM verifications WHERE lower(repository) = lower(?) AND pull_request = ?"
            " ORDER BY started_at, verification_id",
            (repository, pull_request),
        )
        return [str(i) for i in ids]

    async def unfinished_verifications(self) -> list[Verification]:
        documents = await self._first_column(
            "SELECT document FROM verifications WHERE completed_at IS NULL ORDER BY started_at, verification_id"
        )
        return [verification_from_json(str(d)) for d in documents]

    async def completed_verifications(self, *, limit: int) -> list[Verification]:
        """The `limit` most recently completed verifications, newest first (the metrics' start-up state)."""
        documents = await self._first_column(
            "SELECT document FROM verifications WHERE completed_at IS NOT NULL"
            " ORDER BY completed_at DESC, verification_id LIMIT ?",
            (limit,),
        )
        return [verification_from_json(str(d)) for d in documents]

    async def completed_without_history(self, *, limit: int) -> list[Verification]:
        """Completed verifications the history has no row of (the bot stopped between the two), oldest first."""
        documents = await self._first_column(
            "SELECT v.document FROM verifications v LEFT JOIN verification_history h"
            " ON h.verification_id = v.verification_id WHERE v.completed_at IS NOT NULL AND h.verification_id IS NULL"
            " ORDER BY v.completed_at, v.verification_id LIMIT ?",
            (limit,),
        )
        return [verification_from_json(str(d)) for d in documents]

    async def _one_verification(self, query: str, params: tuple[object, ...]) -> Verification | None:
        """The verification whose document `query` selects first, if any."""
        document = await self._db.fetchval(query, params)
        return None if document is None else verification_from_json(str(document))

    async def record_event(self, *, verification_id: str, kind: str, data: dict[str, object]) -> None:
        await self._db.execute(
            "INSERT INTO events (verification_id, kind, data, at) VALUES (?, ?, ?, ?)",
            (verification_id, kind, json.dumps(data, default=str, sort_keys=True), now()),
        )

    async def events(self, verification_id: str) -> list[tuple[str, dict[str, object]]]:
        """(kind, data) of every event recorded for a verification, oldest first."""
        rows = await self._db.fetchall(
            "SELECT kind, data FROM events WHERE verification_id = ? ORDER BY id", (verification_id,)
        )
        return [(str(r[0]), json.loads(r[1])) for r in rows]
