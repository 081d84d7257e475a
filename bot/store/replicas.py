"""What replicas share through the database (issue 16): leases, and the workflow events one relays to the others."""

from __future__ import annotations

from dataclasses import dataclass

from bot.database import Listener
from bot.store.tables import Tables

#: Where a relayed event is announced to the other replicas (PostgreSQL's NOTIFY; bot/relay.py listens).
RELAY_CHANNEL = "verify_staging_relay"


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


class Replicas(Tables):
    """Leases and relayed events."""

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

    async def next_lease_expiry(self, *, prefix: str, not_owner: str, now: float) -> float | None:
        """When the first unexpired lease named `prefix...` that `not_owner` does not hold expires (epoch seconds)."""
        rows = await self._rows(
            "SELECT name, expires_at FROM leases WHERE name LIKE ? AND owner <> ? AND expires_at >= ?",
            (prefix + "%", not_owner, now),
        )
        return min((float(r[1]) for r in rows if str(r[0]).startswith(prefix)), default=None)

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
