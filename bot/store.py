"""The bot's memory: webhook deliveries seen, verifications and what they saw, and the journal of undo actions.

One SQLite file (path from settings `database`), or a PostgreSQL database shared by several replicas (environment
`DATABASE_URL`), with versioned migrations, so a restart of the bot neither repeats a delivery nor forgets a fault
it injected. The SQL here is portable: `?` placeholders, `INSERT ... ON CONFLICT`, no rowid, no PRAGMA; the
backends (bot/database/) run it on either.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.database import Database, Listener, Row, open_database
from bot.history import HistoryEntry, MeasurementPoint
from bot.model import Verification
from bot.serialize import verification_from_json, verification_to_json

#: Deliveries committed in one INSERT at most (5 bound values each; SQLite allows 32,766 per statement).
DELIVERY_BATCH = 500
#: Where a relayed event is announced to the other replicas (PostgreSQL's NOTIFY; bot/relay.py listens).
RELAY_CHANNEL = "verify_staging_relay"

# Each entry moves the schema from version i to i + 1. Never edit a shipped entry: append. Portable DDL only: TEXT,
# INTEGER (64-bit on both), REAL (8 bytes on both), explicit primary keys; bot/database/dialect.py translates the
# few words PostgreSQL spells differently (INTEGER PRIMARY KEY AUTOINCREMENT becomes an identity column).
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
    # Issue 15 §2: one row per finished verification and one per measurement, written when it finishes
    # (bot/history.py), so history pages, the `history` command and regression baselines never parse documents.
    """
    CREATE TABLE verification_history (
        verification_id TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        pull_request INTEGER NOT NULL,
        environment TEXT NOT NULL,
        ref TEXT NOT NULL,
        sha TEXT NOT NULL,
        trigger TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        started_at TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        conclusion TEXT NOT NULL,
        regressions INTEGER NOT NULL
    );
    CREATE INDEX verification_history_by_environment ON verification_history (environment, completed_at);
    CREATE TABLE measurements (
        verification_id TEXT NOT NULL,
        environment TEXT NOT NULL,
        scenario TEXT NOT NULL,
        measurement TEXT NOT NULL,
        value DOUBLE PRECISION,
        passed INTEGER NOT NULL,
        regressed INTEGER NOT NULL,
        at TEXT NOT NULL,
        ref TEXT NOT NULL,
        sha TEXT NOT NULL,
        trigger TEXT NOT NULL,
        PRIMARY KEY (verification_id, scenario, measurement)
    );
    CREATE INDEX measurements_by_series ON measurements (environment, scenario, measurement, at);
    """,
    # Issue 15 §1: each environment's next scheduled due time (it outlives a restart), and every due time claimed
    # by exactly one scheduler (the first INSERT wins, also across replicas), with what became of it.
    """
    CREATE TABLE schedule_next (
        environment TEXT PRIMARY KEY,
        due_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE schedule_runs (
        environment TEXT NOT NULL,
        due_at TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        verification_id TEXT,
        PRIMARY KEY (environment, due_at)
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
class ScheduleRun:
    """What became of one scheduled due time: `outcome` "started", "skipped" (with its `reason`) or "claimed" (being
    started, or the App stopped before it knew; never started again either way)."""

    environment: str
    due_at: datetime
    outcome: str
    reason: str | None
    verification_id: str | None


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
    return (
        f"INSERT INTO deliveries ({columns}) VALUES {values}"  # noqa: S608
        " ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Store:
    """Persistent state. Open with `await Store.open(location)`; close with `await store.close()`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending_deliveries: list[tuple[tuple[str, str, str | None, int | None, str], asyncio.Future[bool]]] = []
        self._delivery_writer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, location: str) -> Store:
        """A `postgresql://` URL (settings: `Settings.store_location`) or the path of a SQLite file."""
        db = await open_database(location)
        try:
            await db.migrate(MIGRATIONS)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    @property
    def database(self) -> Database:
        """The backend, for tests and diagnostics; features add Store methods rather than SQL of their own."""
        return self._db

    async def close(self) -> None:
        if self._delivery_writer is not None:
            await asyncio.gather(self._delivery_writer, return_exceptions=True)
        await self._db.close()

    async def schema_version(self) -> int:
        return await self._db.schema_version()

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
                # One statement is one transaction; ON CONFLICT ... RETURNING names only the rows this statement
                # inserted, so of several replicas receiving the same GUID exactly one is told it is fresh.
                inserted = await self._db.fetchall(
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
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM deliveries WHERE delivery_id = ?", (delivery_id,))
            await tx.execute(
                "INSERT INTO released_deliveries (delivery_id, released_at) VALUES (?, ?)"
                " ON CONFLICT (delivery_id) DO UPDATE SET released_at = excluded.released_at",
                (delivery_id, _now()),
            )

    async def prune_deliveries(self, *, older_than: datetime) -> int:
        """Forget deliveries received before `older_than` (GitHub redelivers only recent ones); how many went."""
        # received_at is written by _now() as UTC isoformat, so the text order is the time order.
        cutoff = older_than.astimezone(UTC).isoformat()
        pruned = await self._db.execute("DELETE FROM deliveries WHERE received_at < ?", (cutoff,))
        await self._db.execute("DELETE FROM released_deliveries WHERE released_at < ?", (cutoff,))
        return pruned

    async def delivery_count(self) -> int:
        return int(await self._db.fetchval("SELECT COUNT(*) FROM deliveries"))

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
            found |= {str(row[0]) for row in await self._db.fetchall(sql, chunk)}
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

    async def _rows(self, query: str, params: tuple[object, ...]) -> list[Row]:
        return await self._db.fetchall(query, params)

    async def _first_column(self, query: str, params: tuple[object, ...] = ()) -> list[object]:
        return [r[0] for r in await self._db.fetchall(query, params)]

    async def record_event(self, *, verification_id: str, kind: str, data: dict[str, object]) -> None:
        await self._db.execute(
            "INSERT INTO events (verification_id, kind, data, at) VALUES (?, ?, ?, ?)",
            (verification_id, kind, json.dumps(data, default=str, sort_keys=True), _now()),
        )

    async def events(self, verification_id: str) -> list[tuple[str, dict[str, object]]]:
        """(kind, data) of every event recorded for a verification, oldest first."""
        rows = await self._db.fetchall(
            "SELECT kind, data FROM events WHERE verification_id = ? ORDER BY id", (verification_id,)
        )
        return [(str(r[0]), json.loads(r[1])) for r in rows]

    # ------------------------------------------------------------------------------------------ undo journal
    async def _durable(self, sql: str, parameters: tuple[object, ...]) -> object:
        """One write on the disk before it returns (the journal must outlive a power cut); its first returned value."""
        async with self._db.transaction(durable=True) as tx:
            return await tx.fetchval(sql, parameters)

    async def journal_add(self, *, verification_id: str, host: str, fault: str, undo: list[str]) -> int:
        """Write the undo action BEFORE the fault is injected, durably; returns the entry id."""
        entry_id = await self._durable(
            "INSERT INTO journal (verification_id, host, fault, undo, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (verification_id, host, fault, json.dumps(list(undo)), _now()),
        )
        assert isinstance(entry_id, int)
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
        rows = await self._db.fetchall(
            "SELECT id, verification_id, host, fault, undo, created_at, injected_at, restored_at, ok, error,"
            " after_restart FROM journal WHERE ok IS NULL OR ok = 0 ORDER BY id"
        )
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

    # ------------------------------------------------------------------------------------------ history (issue 15)
    async def record_history(self, entry: HistoryEntry, points: list[MeasurementPoint]) -> None:
        """Keep a finished verification's row and its measurements (replacing what an earlier finish wrote)."""
        e = entry
        await self._db.execute(
            "INSERT INTO verification_history (verification_id, repository, pull_request, environment, ref, sha,"
            " trigger, requested_by, started_at, completed_at, conclusion, regressions)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (verification_id) DO UPDATE SET"
            " completed_at = excluded.completed_at, conclusion = excluded.conclusion,"
            " regressions = excluded.regressions",
            (e.verification_id, e.repository, e.pull_request, e.environment, e.ref, e.sha, e.trigger,
             e.requested_by, _utc(e.started_at), _utc(e.completed_at), e.conclusion, e.regressions),
        )  # fmt: skip
        await self._db.executemany(
            "INSERT INTO measurements (verification_id, environment, scenario, measurement, value, passed, regressed,"
            " at, ref, sha, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (verification_id, scenario, measurement) DO UPDATE SET value = excluded.value,"
            " passed = excluded.passed, regressed = excluded.regressed, at = excluded.at",
            [
                (p.verification_id, p.environment, p.scenario, p.measurement, p.value, int(p.passed),
                 int(p.regressed), _utc(p.at), p.ref, p.sha, p.trigger)
                for p in points
            ],
        )  # fmt: skip

    async def passing_values(
        self, *, environment: str, scenario: str, measurement: str, limit: int, exclude: str
    ) -> list[float]:
        """The measurement's values in the environment's latest `limit` passing runs, newest first."""
        values = await self._first_column(
            "SELECT value FROM measurements WHERE environment = ? AND scenario = ? AND measurement = ?"
            " AND passed = 1 AND value IS NOT NULL AND verification_id <> ? ORDER BY at DESC LIMIT ?",
            (environment, scenario, measurement, exclude, limit),
        )
        return [float(str(v)) for v in values]

    async def history(self, *, environment: str, limit: int, repository: str | None = None) -> list[HistoryEntry]:
        """The environment's latest `limit` finished verifications (of `repository` only, if given), newest first."""
        scope, params = _history_scope(environment, repository)
        rows = await self._rows(
            f"SELECT {_HISTORY_COLUMNS} FROM verification_history WHERE {scope}"  # noqa: S608 (constants)
            " ORDER BY completed_at DESC, verification_id DESC LIMIT ?",
            (*params, limit),
        )
        return [_history_entry(r) for r in rows]

    async def history_environments(self) -> list[str]:
        """Every environment with a finished verification, by name."""
        names = await self._first_column("SELECT DISTINCT environment FROM verification_history ORDER BY environment")
        return [str(n) for n in names]

    async def measurement_points(
        self, *, environment: str, limit: int, repository: str | None = None
    ) -> list[MeasurementPoint]:
        """Every measurement of the verifications `history()` lists, oldest first."""
        scope, params = _history_scope(environment, repository)
        columns = "verification_id, environment, scenario, measurement, value, passed, regressed, at, ref, sha, trigger"
        latest = f"SELECT verification_id FROM verification_history WHERE {scope}"  # noqa: S608 (constants)
        latest += " ORDER BY completed_at DESC, verification_id DESC LIMIT ?"
        rows = await self._rows(
            f"SELECT {columns} FROM measurements WHERE verification_id IN ({latest})"  # noqa: S608 (constants)
            " ORDER BY at, verification_id",
            (*params, limit),
        )
        return [
            MeasurementPoint(
                verification_id=str(r[0]), environment=str(r[1]), scenario=str(r[2]), measurement=str(r[3]),
                value=None if r[4] is None else float(r[4]), passed=bool(r[5]), regressed=bool(r[6]),
                at=datetime.fromisoformat(r[7]), ref=str(r[8]), sha=str(r[9]), trigger=str(r[10]),
            )
            for r in rows
        ]  # fmt: skip

    # ------------------------------------------------------------------------------------------ schedule (issue 15)
    async def schedule_next_due(self, environment: str) -> datetime | None:
        """When the environment's schedule is next due, as last stored (None: never stored)."""
        values = await self._first_column("SELECT due_at FROM schedule_next WHERE environment = ?", (environment,))
        return _ts(str(values[0])) if values else None

    async def set_schedule_next_due(self, environment: str, due_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO schedule_next (environment, due_at, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (environment) DO UPDATE SET due_at = excluded.due_at, updated_at = excluded.updated_at",
            (environment, _utc(due_at), _now()),
        )

    async def claim_schedule_due(
        self, environment: str, due_at: datetime, *, outcome: str = "claimed", reason: str | None = None
    ) -> bool:
        """Claim one due time; False when it was claimed before (by this bot before a restart, or another
        replica). One statement: the database decides, so two schedulers can never both win."""
        claimed = await self._db.fetchall(
            "INSERT INTO schedule_runs (environment, due_at, claimed_at, outcome, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (environment, due_at) DO NOTHING RETURNING environment",
            (environment, _utc(due_at), _now(), outcome, reason),
        )
        return len(claimed) == 1

    async def record_schedule_outcome(
        self, environment: str, due_at: datetime, *, outcome: str, reason: str | None, verification_id: str | None
    ) -> None:
        await self._db.execute(
            "UPDATE schedule_runs SET outcome = ?, reason = ?, verification_id = ?"
            " WHERE environment = ? AND due_at = ?",
            (outcome, reason, verification_id, environment, _utc(due_at)),
        )

    async def schedule_runs(self, environment: str) -> list[ScheduleRun]:
        """Every claimed due time of the environment, oldest first."""
        rows = await self._rows(
            "SELECT environment, due_at, outcome, reason, verification_id FROM schedule_runs WHERE environment = ?"
            " ORDER BY due_at",
            (environment,),
        )
        return [
            ScheduleRun(
                environment=str(r[0]),
                due_at=datetime.fromisoformat(r[1]),
                outcome=str(r[2]),
                reason=r[3],
                verification_id=r[4],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------------------------------ replicas (issue 16)
    async def ping(self) -> bool:
        """Whether the database answers a query (readiness: a replica without its database takes no delivery)."""
        return await self._db.fetchone("SELECT 1") is not None

    async def lease_acquire(
        self, *, name: str, owner: str, now: float, expires_at: float, note: str | None, take_from: str | None = None
    ) -> bool:
        """Take or renew the lease `name` for `owner` until `expires_at`; False while another owner's is unexpired
        (unless that owner is `take_from`, one known to be dead).

        One statement, so two replicas racing for an expired lease cannot both win: the row's update is conditional.
        """
        rows = await self._db.fetchall(
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
        rows = await self._rows(
            "SELECT name, owner, note FROM leases WHERE name LIKE ? AND expires_at >= ?", (prefix + "%", now)
        )
        # LIKE's `_` matches any character (a host may be named with one): startswith keeps the exact prefix.
        return {
            str(r[0]): (str(r[1]), None if r[2] is None else str(r[2])) for r in rows if str(r[0]).startswith(prefix)
        }

    async def lease_owner(self, name: str) -> tuple[str, float] | None:
        """Who holds (or last held) the lease `name`, and until when."""
        row = await self._db.fetchone("SELECT owner, expires_at FROM leases WHERE name = ?", (name,))
        return (str(row[0]), float(row[1])) if row else None

    async def relay_event(self, event: RelayedEvent) -> None:
        """Keep a workflow event this replica received, for the replica that owns the verification it concerns, and
        wake the other replicas' readers (`relay_listener`) when it commits."""
        async with self._db.transaction() as tx:
            inserted = await tx.execute(
                "INSERT INTO relayed_events (delivery_id, replica, repository, installation_id, kind, data,"
                " received_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING",
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
            if inserted:
                # The sender's id, never the event (a payload is size-limited): the sender ignores its own.
                await tx.notify(RELAY_CHANNEL, event.replica)

    def relay_listener(self, *, replica: str) -> Listener | None:
        """Wakes when another replica relayed an event (PostgreSQL); None on SQLite, where readers poll."""
        return self._db.listen(RELAY_CHANNEL, ignore=replica)

    async def relayed_events(self, *, since: float, not_from: str) -> list[RelayedEvent]:
        """Events other replicas received at or after `since` (epoch seconds), oldest first."""
        rows = await self._rows(
            "SELECT delivery_id, replica, repository, installation_id, kind, data, received_at FROM relayed_events"
            " WHERE received_at >= ? AND replica <> ? ORDER BY received_at, delivery_id",
            (since, not_from),
        )
        # In the dataclass's field order: delivery_id, replica, repository, installation_id, kind, data, received_at.
        return [
            RelayedEvent(str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]), float(r[6])) for r in rows
        ]

    async def prune_relayed_events(self, *, before: float) -> None:
        await self._db.execute("DELETE FROM relayed_events WHERE received_at < ?", (before,))


_HISTORY_COLUMNS = (
    "verification_id, repository, pull_request, environment, ref, sha, trigger, requested_by, started_at,"
    " completed_at, conclusion, regressions"
)


def _history_scope(environment: str, repository: str | None) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause (constant text, bound values) selecting an environment's history, or one repository's."""
    if repository is None:
        return "environment = ?", (environment,)
    return "environment = ? AND LOWER(repository) = LOWER(?)", (environment, repository)


def _history_entry(r: Row) -> HistoryEntry:
    return HistoryEntry(
        verification_id=str(r[0]), repository=str(r[1]), pull_request=int(r[2]), environment=str(r[3]),
        ref=str(r[4]), sha=str(r[5]), trigger=str(r[6]), requested_by=str(r[7]),
        started_at=datetime.fromisoformat(r[8]), completed_at=datetime.fromisoformat(r[9]), conclusion=str(r[10]),
        regressions=int(r[11]),
    )  # fmt: skip


def _utc(t: datetime) -> str:
    """A time as stored: UTC ISO text, so the text order is the time order and one instant has one spelling."""
    return t.astimezone(UTC).isoformat()
