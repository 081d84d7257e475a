"""When each environment's schedule is next due, and what became of each due time (claimed once, across replicas)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.tables import Tables, now, ts, utc


@dataclass(frozen=True)
class ScheduleRun:
    """What became of one scheduled due time: `outcome` "started", "skipped" (with its `reason`) or "claimed" (being
    started, or the App stopped before it knew; never started again either way)."""

    environment: str
    due_at: datetime
    outcome: str
    reason: str | None
    verification_id: str | None


class Schedule(Tables):
    """Schedules' next due times and claimed due times."""

    async def schedule_next_due(self, environment: str) -> datetime | None:
        """When the environment's schedule is next due, as last stored (None: never stored)."""
        values = await self._first_column("SELECT due_at FROM schedule_next WHERE environment = ?", (environment,))
        return ts(str(values[0])) if values else None

    async def set_schedule_next_due(self, environment: str, due_at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO schedule_next (environment, due_at, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (environment) DO UPDATE SET due_at = excluded.due_at, updated_at = excluded.updated_at",
            (environment, utc(due_at), now()),
        )

    async def claim_schedule_due(
        self, environment: str, due_at: datetime, *, outcome: str = "claimed", reason: str | None = None
    ) -> bool:
        """Claim one due time; False when it was claimed before (by this bot before a restart, or another
        replica). One statement: the database decides, so two schedulers can never both win."""
        claimed = await self._db.fetchall(
            "INSERT INTO schedule_runs (environment, due_at, claimed_at, outcome, reason) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (environment, due_at) DO NOTHING RETURNING environment",
            (environment, utc(due_at), now(), outcome, reason),
        )
        return len(claimed) == 1

    async def record_schedule_outcome(
        self, environment: str, due_at: datetime, *, outcome: str, reason: str | None, verification_id: str | None
    ) -> None:
        await self._db.execute(
            "UPDATE schedule_runs SET outcome = ?, reason = ?, verification_id = ?"
            " WHERE environment = ? AND due_at = ?",
            (outcome, reason, verification_id, environment, utc(due_at)),
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
