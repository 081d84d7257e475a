"""Finished verifications and their measurements, kept for trends and regressions (issue 15)."""

from __future__ import annotations

from datetime import datetime

from bot.database import Row
from bot.history import HistoryEntry, MeasurementPoint
from bot.store.tables import Tables, utc


class History(Tables):
    """Finished verifications' rows and measurements."""

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
             e.requested_by, utc(e.started_at), utc(e.completed_at), e.conclusion, e.regressions),
        )  # fmt: skip
        await self._db.executemany(
            "INSERT INTO measurements (verification_id, environment, scenario, measurement, value, passed, regressed,"
            " at, ref, sha, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (verification_id, scenario, measurement) DO UPDATE SET value = excluded.value,"
            " passed = excluded.passed, regressed = excluded.regressed, at = excluded.at",
            [
                (p.verification_id, p.environment, p.scenario, p.measurement, p.value, int(p.passed),
                 int(p.regressed), utc(p.at), p.ref, p.sha, p.trigger)
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
