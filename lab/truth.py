"""The lab's record of what really happened and when (`lab-truth.jsonl`), so a verdict can be checked against it.

Every process of the lab (the lab itself, runner agents, services) appends to the same file: one JSON object a
line, `{"at": RFC3339 UTC with milliseconds, "event": ..., ...fields}`. Each line is written with a single
`write(2)` on a descriptor opened with O_APPEND, so lines from several processes never interleave.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def rfc3339_ms(moment: datetime) -> str:
    """`2026-11-27T10:00:00.123Z`: the truth log's timestamp format (wall clock, milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class TruthEvent:
    """One line of the truth log, parsed."""

    at: datetime
    event: str
    fields: dict[str, Any]


class Truth:
    """Appends events to a lab-truth.jsonl file; safe to use from several processes at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def record(self, event: str, /, **fields: object) -> None:
        line = {"at": rfc3339_ms(datetime.now(UTC)), "event": event, **fields}
        data = (json.dumps(line, default=str, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def events(self, event: str | None = None) -> list[TruthEvent]:
        """Every recorded event (optionally only those named `event`), oldest first."""
        return [e for e in self._iter() if event is None or e.event == event]

    def _iter(self) -> Iterator[TruthEvent]:
        if not self.path.exists():
            return
        for raw in self.path.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            obj = json.loads(raw)
            at = datetime.fromisoformat(str(obj.pop("at")).replace("Z", "+00:00"))
            yield TruthEvent(at=at, event=str(obj.pop("event")), fields=obj)
