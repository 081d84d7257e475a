"""When a scheduled verification is due: a 5-field cron expression in UTC, read by croniter (never by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterError, croniter


class CronError(ValueError):
    """The expression is not a 5-field cron expression croniter accepts; the message says why."""


@dataclass(frozen=True)
class Cron:
    """A validated 5-field cron expression; every time it gives and takes is aware and in UTC."""

    expression: str

    @classmethod
    def parse(cls, text: str) -> Cron:
        fields = text.split()
        # croniter also takes a sixth (seconds) and seventh (year) field; the settings promise the standard five.
        if len(fields) != 5:
            raise CronError(f"it has {len(fields)} fields; expected 5 (minute hour day-of-month month day-of-week)")
        try:
            croniter(text, datetime(2026, 1, 1, tzinfo=UTC))
        except (CroniterError, ValueError, KeyError) as exc:
            raise CronError(str(exc) or "croniter does not accept it") from None
        return cls(expression=" ".join(fields))

    def next_after(self, t: datetime) -> datetime:
        """The first due time strictly after `t`."""
        value = croniter(self.expression, t.astimezone(UTC)).get_next(datetime)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def latest_at_or_before(self, t: datetime) -> datetime:
        """The last due time at or before `t`."""
        t = t.astimezone(UTC)
        value = croniter(self.expression, t + timedelta(microseconds=1)).get_prev(datetime)
        assert isinstance(value, datetime)
        return value.astimezone(UTC)

    def period(self, *, samples: int = 64) -> timedelta:
        """The longest time between two due times, over the next `samples` of them from a fixed point: for a regular
        schedule its period, for an irregular one (weekdays only) the longest gap, which is what "stale" must allow."""
        t = self.next_after(datetime(2026, 1, 1, tzinfo=UTC))
        longest = timedelta(0)
        for _ in range(samples):
            following = self.next_after(t)
            longest = max(longest, following - t)
            t = following
        return longest
