"""The bot's memory: webhook deliveries seen, verifications and what they saw, and the journal of undo actions.

One SQLite file (path from settings `database`) in WAL mode, with versioned migrations, so a restart of the bot
neither repeats a delivery nor forgets a fault it injected. All writes go through one aiosqlite connection, which
runs them one at a time: concurrent tasks in the process cannot interleave inside a statement.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.model import Verification
from bot.serialize import verification_from_json, verification_to_json

#: Deliveries committed in one INSERT at most (5 bound values each; SQLite allows 32,766 per statement).
DELIVERY_BATCH = 500

# Each entry moves the schema from version i to i + 1 (PRAGMA user_version). Never edit a shipped entry: append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE deliveries (
        delivery_id TEXT PRIMARY KEY,
        event TEXT NOT NULL,
        action TEXT,
        installation_id INTEGER,
        received_at TEXT NOT NULL
    );
    CREATE TABLE verifications (
        verification_id TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        pull_request INTEGER NOT NULL,
        environment TEXT NOT NULL,
        started_at TEXT NOT NULL,
        completed_at TEXT,
        conclusion TEXT,
        document TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX verifications_by_pr ON verifications (repository, pull_request, started_at);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        verification_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX events_by_verification ON events (verification_id, id);
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        verification_id TEXT NOT NULL,
        host TEXT NOT NULL,
        fault TEXT NOT NULL,
        undo TEXT NOT NULL,
        created_at TEXT NOT NULL,
        injected_at TEXT,
        restored_at TEXT,
        ok INTEGER,
        error TEXT,
        after_restart INTEGER NOT NULL DEFAULT 0
    );
    """,
    # Deliveries acknowledged (202) but given back unprocessed at shutdown: GitHub lists them as delivered, so only
    # this record tells the redelivery sweep (bot/redelivery.py) to have them redelivered.
    """
    CREATE TABLE released_deliveries (
        delivery_id TEXT PRIMARY KEY,
        released_at TEXT NOT NULL
    );
    """,
    # Issue 16 §2, more than one replica: leases name who owns a verification, a (host, unit) or a singleton job,
    # until `expires_at` (epoch seconds; renewed by the owner's heartbeat). Workflow events a replica received are
    # relayed to the owner of the verification they concern through `relayed_events`. Portable SQL (SQLite, PG).
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        heartbeat_at DOUBLE PRECISION NOT NULL,
        note TEXT
    );
    CREATE INDEX leases_by_owner ON leases (owner);
    CREATE TABLE relayed_events (
        delivery_id TEXT PRIMARY KEY,
        replica TEXT NOT NULL,
        repository TEXT NOT NULL,
        installation_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX relayed_events_by_time ON relayed_events (received_at);
    """,
)


@dataclass(frozen=True)
class JournalEntry:
    """One fault the bot injected (or was about to), and the argv-joined commands that undo it."""

    id: int
    verification_id: str
    host: str
    fault: str
    undo: tuple[str, ...]
    created_at: datetime
    injected_at: datetime | None
    restored_at: datetime | None
    ok: bool | None
    error: str | None
    after_restart: bool = False


@dataclass(frozen=True)
class RelayedEvent:
    """A workflow_run or workflow_job delivery one replica received, kept for the replica that owns the verification
    (`data`: the payload's `workflow_run` / `workflow_job` object as JSON; `received_at`: epoch seconds)."""

    delivery_id: str
    replica: str
    repository: str
    installation_id: int
    kind: str
    data: str
    received_at: float


def _insert_deliveries(count: int) -> str:
    """One INSERT for `count` deliveries; it returns the ids that were new (placeholders only: values are bound)."""
    values = ", ".join(["(?, ?, ?, ?, ?)"] * count)
    columns = "delivery_id, event, action, installation_id, received_at"
    return f"INSERT OR IGNORE INTO deliveries ({columns}) VALUES {values} RETURNING delivery_id"  # noqa: S608


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    """Persistent state. Open with `await Store.open(path)`; close with `await store.close()`."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._pending_deliveries: list[tuple[tuple[str, str, str | None, int | None, str], asyncio.Future[bool]]] = []
        self._delivery_writer: asyncio.Task[None] | None = None
        self._durable_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> Store:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA busy_timeout=5000")
            # NORMAL: in WAL mode a commit no longer waits for the disk; a crash of the bot loses nothing, a power
            # cut may lose the last commits (SQLite: "Atomic Commit", "WAL"). Syncing each delivery's commit made
            # one acknowledgement in a hundred wait 20-150 ms on a virtual disk at 200 deliveries/s. The undo
            # journal, which must outlive a power cut too, is written with FULL (`_durable`).
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await _migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        if self._delivery_writer is not None:
            await asyncio.gather(self._delivery_writer, return_exceptions=True)
        await self._db.close()

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------------------------------ deliveries
    async def record_delivery(
        self,
        *,
        delivery_id: str,
        event: str,
        action: str | None,
        installation_id: int | None,
        received_at: datetime | None = None,
    ) -> bool:
        """Remember a delivery; False when this delivery id was seen before (a redelivery keeps its id).

        Deliveries that arrive while an insert is being committed are committed together in the next one (group
        commit): each commit waits for the disk, so one commit per delivery would cap ingest at the disk's rate.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        received = received_at.astimezone(UTC).isoformat() if received_at is not None else _now()
        self._pending_deliveries.append(((delivery_id, event, action, installation_id, received), future))
        if self._delivery_writer is None or self._delivery_writer.done():
            self._delivery_writer = asyncio.create_task(self._write_deliveries())
        return await future

    async def _write_deliveries(self) -> None:
        while self._pending_deliveries:
            batch = self._pending_deliveries[:DELIVERY_BATCH]
            del self._pending_deliveries[:DELIVERY_BATCH]
            rows = list({row[0]: row for row, _ in reversed(batch)}.values())  # first of a repeated id wins
            try:
                # One statement is one transaction on this connection, so nothing else can slip into it.
                inserted = await self._db.execute_fetchall(
                    _insert_deliveries(len(rows)), [value for row in rows for value in row]
                )
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            fresh = {str(r[0]) for r in inserted}
            for row, future in batch:
                is_fresh = row[0] in fresh
                fresh.discard(row[0])  # a repeat within the batch is a duplicate of the first
                if not future.done():
                    future.set_result(is_fresh)

    async def forget_delivery(self, delivery_id: str) -> None:
        """Forget a recorded delivery that was never processed, so its redelivery is (the bot is shutting down);
        remembered as released, so the redelivery sweep asks for it although GitHub saw it acknowledged."""
        await self._db.execute("DELETE FROM deliveries WHERE delivery_id = ?", (delivery_id,))
        await self._db.execute(
            "INSERT OR REPLACE INTO released_deliveries (delivery_id, released_at) VALUES (?, ?)", (delivery_id, _now())
        )

    async def prune_deliveries(self, *, older_than: datetime) -> int:
        """Forget deliveries received before `older_than` (GitHub redelivers only recent ones); how many went."""
        # received_at is written by _now() as UTC isoformat, so the text order is the time order.
        cutoff = older_than.astimezone(UTC).isoformat()
        cursor = await self._db.execute("DELETE FROM deliveries WHERE received_at < ?", (cutoff,))
        await self._db.execute("DELETE FROM released_deliveries WHERE released_at < ?", (cutoff,))
        return cursor.rowcount

    async def delivery_count(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM deliveries") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def known_deliveries(self, delivery_ids: Collection[str]) -> set[str]:
        """Which of these delivery ids (GUIDs) the bot has accepted, including those still being written."""
        ids = list(dict.fromkeys(delivery_ids))
        pending = {row[0] for row, _ in self._pending_deliveries} & set(ids)
        return pending | await self._present("deliveries", ids)

    async def released_deliveries(self, delivery_ids: Collection[str]) -> set[str]:
        """Which of these delivery ids were acknowledged but given back unprocessed at a shutdown."""
        return await self._present("released_deliveries", list(dict.fromkeys(delivery_ids)))

    async def _present(self, table: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):  # SQLite binds at most 999 parameters by default
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT delivery_id FROM {table} WHERE delivery_id IN ({marks})"  # noqa: S608 (table: ours)
            async with self._db.execute(sql, chunk) as cur:
                found |= {str(row[0]) for row in await cur.fetchall()}
        return found

    # ------------------------------------------------------------------------------------------ verifications
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
                _now(),
            ),
        )

    async def load_verification(self, verification_id: str) -> Verification | None:
        return await self._one_verification(
            "SELECT document FROM verifications WHERE verification_id = ?", (verification_id,)
        )

    async def latest_verification(self, *, repository: str, pull_request: int) -> Verification | None:
        return await self._one_verification(
            "SELECT document FROM verifications WHERE repository = ? COLLATE NOCASE AND pull_request = ?"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (repository, pull_request),
        )

    async def verification_ids(self, *, repository: str, pull_request: int) -> list[str]:
        """Every verification of the pull request, oldest first (a re-run replaces their JIRA attachments)."""
        ids = await self._first_column(
            "SELECT verification_id FROM verifications WHERE repository = ? COLLATE NOCASE AND pull_request = ?"
            " ORDER BY started_at, rowid",
            (repository, pull_request),
        )
        return [str(i) for i in ids]

    async def unfinished_verifications(self) -> list[Verification]:
        documents = await self._first_column(
            "SELECT document FROM verifications WHERE completed_at IS NULL ORDER BY started_at, rowid"
        )
        return [verification_from_json(str(d)) for d in documents]

    async def _one_verification(self, query: str, params: tuple[object, ...]) -> Verification | None:
        """The verification whose document `query` selects first, if any."""
        async with self._db.execute(query, params) as cur:
            row = await cur.fetchone()
        return verification_from_json(row[0]) if row else None

    async def _first_column(self, query: str, params: tuple[object, ...] = ()) -> list[object]:
        async with self._db.execute(query, params) as cur:
            rows = await cur.fetchall()
        return [r[0] for r in rows]

    async def record_event(self, *, verification_id: str, kind: str, data: dict[str, object]) -> None:
        await self._db.execute(
            "INSERT INTO events (verification_id, kind, data, at) VALUES (?, ?, ?, ?)",
            (verification_id, kind, json.dumps(data, default=str, sort_keys=True), _now()),
        )

    async def events(self, verification_id: str) -> list[tuple[str, dict[str, object]]]:
        """(kind, data) of every event recorded for a verification, oldest first."""
        async with self._db.execute(
            "SELECT kind, data FROM events WHERE verification_id = ? ORDER BY id", (verification_id,)
        ) as cur:
            rows = await cur.fetchall()
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    # ------------------------------------------------------------------------------------------ undo journal
    async def _durable(self, sql: str, parameters: tuple[object, ...]) -> int | None:
        """One write synced to the disk before it returns (synchronous=FULL for its commit); its row id.

        The lock keeps two durable writes from interleaving their pragmas; a delivery commit that slips in between
        is merely synced too.
        """
        async with self._durable_lock:
            await self._db.execute("PRAGMA synchronous=FULL")
            try:
                async with self._db.execute(sql, parameters) as cur:
                    return cur.lastrowid
            finally:
                await self._db.execute("PRAGMA synchronous=NORMAL")

    async def journal_add(self, *, verification_id: str, host: str, fault: str, undo: list[str]) -> int:
        """Write the undo action BEFORE the fault is injected, durably; returns the entry id."""
        entry_id = await self._durable(
            "INSERT INTO journal (verification_id, host, fault, undo, created_at) VALUES (?, ?, ?, ?, ?)",
            (verification_id, host, fault, json.dumps(list(undo)), _now()),
        )
        assert entry_id is not None
        return entry_id

    async def journal_mark_injected(self, entry_id: int) -> None:
        await self._durable("UPDATE journal SET injected_at = ? WHERE id = ?", (_now(), entry_id))

    async def journal_mark_restored(
        self, entry_id: int, *, ok: bool, error: str | None = None, after_restart: bool = False
    ) -> None:
        await self._durable(
            "UPDATE journal SET restored_at = ?, ok = ?, error = ?, after_restart = ? WHERE id = ?",
            (_now(), int(ok), error, int(after_restart), entry_id),
        )

    async def journal_pending(self) -> list[JournalEntry]:
        """Entries written but not yet restored successfully, in insertion order."""
        async with self._db.execute(
            "SELECT id, verification_id, host, fault, undo, created_at, injected_at, restored_at, ok, error,"
            " after_restart FROM journal WHERE ok IS NULL OR ok = 0 ORDER BY id"
        ) as cur:
            rows = await cur.fetchall()
        return [
            JournalEntry(
                id=int(r[0]),
                verification_id=str(r[1]),
                host=str(r[2]),
                fault=str(r[3]),
                undo=tuple(str(u) for u in json.loads(r[4])),
                created_at=datetime.fromisoformat(r[5]),
                injected_at=_ts(r[6]),
                restored_at=_ts(r[7]),
                ok=None if r[8] is None else bool(r[8]),
                error=r[9],
                after_restart=bool(r[10]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------------------------------ replicas (issue 16)
    async def ping(self) -> bool:
        """Whether the database answers a query (readiness: a replica without its database takes no delivery)."""
        async with self._db.execute("SELECT 1") as cur:
            row = await cur.fetchone()
        return row is not None

    async def lease_acquire(
        self, *, name: str, owner: str, now: float, expires_at: float, note: str | None, take_from: str | None = None
    ) -> bool:
        """Take or renew the lease `name` for `owner` until `expires_at`; False while another owner's is unexpired
        (unless that owner is `take_from`, one known to be dead).

        One statement, so two replicas racing for an expired lease cannot both win: the row's update is conditional.
        """
        rows = await self._db.execute_fetchall(
            "INSERT INTO leases (name, owner, expires_at, heartbeat_at, note) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,"
            " heartbeat_at = excluded.heartbeat_at, note = excluded.note"
            " WHERE leases.expires_at < ? OR leases.owner = excluded.owner OR leases.owner = ? RETURNING owner",
            (name, owner, expires_at, now, note, now, take_from or owner),
        )
        return any(str(r[0]) == owner for r in rows)

    async def lease_renew(self, *, owner: str, now: float, expires_at: float) -> set[str]:
        """Extend every lease `owner` still holds (the heartbeat); the names it holds."""
        await self._db.execute(
            "UPDATE leases SET expires_at = ?, heartbeat_at = ? WHERE owner = ?", (expires_at, now, owner)
        )
        names = await self._first_column("SELECT name FROM leases WHERE owner = ?", (owner,))
        return {str(n) for n in names}

    async def lease_release(self, *, name: str, owner: str) -> None:
        await self._db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

    async def lease_release_owner(self, owner: str) -> None:
        """Drop every lease of a replica known to be dead."""
        await self._db.execute("DELETE FROM leases WHERE owner = ?", (owner,))

    async def live_leases(self, *, prefix: str, now: float) -> dict[str, tuple[str, str | None]]:
        """Unexpired leases whose name starts with `prefix`: name -> (owner, note)."""
        async with self._db.execute(
            "SELECT name, owner, note FROM leases WHERE name LIKE ? AND expires_at >= ?", (prefix + "%", now)
        ) as cur:
            rows = await cur.fetchall()
        # LIKE's `_` matches any character (a host may be named with one): startswith keeps the exact prefix.
        return {
            str(r[0]): (str(r[1]), None if r[2] is None else str(r[2])) for r in rows if str(r[0]).startswith(prefix)
        }

    async def lease_owner(self, name: str) -> tuple[str, float] | None:
        """Who holds (or last held) the lease `name`, and until when."""
        async with self._db.execute("SELECT owner, expires_at FROM leases WHERE name = ?", (name,)) as cur:
            row = await cur.fetchone()
        return (str(row[0]), float(row[1])) if row else None

    async def relay_event(self, event: RelayedEvent) -> None:
        """Keep a workflow event this replica received, for the replica that owns the verification it concerns."""
        await self._db.execute(
            "INSERT INTO relayed_events (delivery_id, replica, repository, installation_id, kind, data, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING",
            (
                event.delivery_id,
                event.replica,
                event.repository,
                event.installation_id,
                event.kind,
                event.data,
                event.received_at,
            ),
        )

    async def relayed_events(self, *, since: float, not_from: str) -> list[RelayedEvent]:
        """Events other replicas received at or after `since` (epoch seconds), oldest first."""
        async with self._db.execute(
            "SELECT delivery_id, replica, repository, installation_id, kind, data, received_at FROM relayed_events"
            " WHERE received_at >= ? AND replica <> ? ORDER BY received_at, delivery_id",
            (since, not_from),
        ) as cur:
            rows = await cur.fetchall()
        # In the dataclass's field order: delivery_id, replica, repository, installation_id, kind, data, received_at.
        return [
            RelayedEvent(str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]), float(r[6])) for r in rows
        ]

    async def prune_relayed_events(self, *, before: float) -> None:
        await self._db.execute("DELETE FROM relayed_events WHERE received_at < ?", (before,))


async def _migrate(db: aiosqlite.Connection) -> None:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    version = int(row[0]) if row else 0
    for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript commits first; the version bump rides in the same script so a crash cannot split them.
        await db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {target};\nCOMMIT;")
