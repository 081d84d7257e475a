"""Live progress of a verification in a terminal (the demo): scenario, step and elapsed time, then a results table.

On a TTY the current step is redrawn in place; elsewhere (CI, a pipe) each change is one plain line.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from bot.model import ScenarioConclusion, ScenarioStatus, Verification
from bot.ports import Clock, ProgressEvent
from bot.reporting.escape import terminal_text
from bot.reporting.format import fmt_value
from bot.texts import reports as texts


class TerminalReporter:
    """bot.ports.Reporter that writes to a terminal. `done` is set with the finished verification."""

    def __init__(self, *, out: TextIO, clock: Clock, tty: bool | None = None) -> None:
        self._out = out
        self._clock = clock
        self._tty = out.isatty() if tty is None else tty
        self._t0: float | None = None
        self._last_line = ""
        self._drawn = False
        self.verification: Verification | None = None
        self.started_event = asyncio.Event()
        self.done = asyncio.Event()

    async def started(self, verification: Verification) -> None:
        self._t0 = self._clock.monotonic()
        self.verification = verification
        self.started_event.set()
        scenarios = ", ".join(s.id.value for s in verification.scenarios)
        self._line(texts.TERMINAL_STARTED.format(verification_id=verification.verification_id, scenarios=scenarios))

    async def progress(self, event: ProgressEvent) -> None:
        if event.scenario is None:
            return
        s = event.verification.scenario(event.scenario)
        if s.status is ScenarioStatus.COMPLETED:
            verdict = texts.SCENARIO_VERDICT[s.conclusion]
            failed = s.reason and s.conclusion is not ScenarioConclusion.PASSED
            reason = f" — {terminal_text(s.reason)}" if failed else ""
            self._line(
                texts.TERMINAL_SCENARIO_DONE.format(elapsed=self._elapsed(), scenario=s.id.value, verdict=verdict)
                + reason
            )
            return
        if not s.steps:
            self._status(texts.TERMINAL_STEP.format(elapsed=self._elapsed(), scenario=s.id.value, step="starting"))
            return
        step = s.steps[-1]
        if step.completed_at is None:
            self._status(texts.TERMINAL_STEP.format(elapsed=self._elapsed(), scenario=s.id.value, step=step.name))
            return
        outcome = step.outcome.value if step.outcome else "done"
        if step.error:
            outcome = f"{outcome}: {terminal_text(step.error)}"
        took = (step.completed_at - step.started_at).total_seconds()
        self._status(
            texts.TERMINAL_STEP_DONE.format(
                elapsed=self._elapsed(), scenario=s.id.value, step=step.name, outcome=outcome, took=took
            )
        )

    async def finished(self, verification: Verification) -> None:
        self.verification = verification
        self._line(results_table(verification))
        self.done.set()

    def _elapsed(self) -> str:
        return f"{0.0 if self._t0 is None else self._clock.monotonic() - self._t0:6.1f}s"

    def _status(self, text: str) -> None:
        if text == self._last_line:
            return
        self._last_line = text
        if self._tty:
            self._out.write("\r\033[K" + text)
            self._drawn = True
        else:
            self._out.write(text + "\n")
        self._out.flush()

    def _line(self, text: str) -> None:
        if self._tty and self._drawn:
            self._out.write("\r\033[K")
            self._drawn = False
        self._out.write(text + "\n")
        self._out.flush()


def results_table(verification: Verification) -> str:
    """The plain-text results: one row per scenario, its failed criteria under it, then the verdict."""
    rows = [texts.TERMINAL_TABLE_HEADER]
    for n, s in enumerate(verification.scenarios, start=1):
        verdict = texts.SCENARIO_VERDICT[s.conclusion] if s.status is ScenarioStatus.COMPLETED else "NOT RUN"
        rows.append(f"  {n}  {s.id.value:<15} {verdict:<8} {terminal_text(s.reason or '')}".rstrip())
        for c in s.failed_criteria():
            rows.append(
                texts.TERMINAL_CRITERION.format(
                    description=c.description.rstrip("."),
                    observed=terminal_text(fmt_value(c.observed, c.unit)),
                    threshold=terminal_text(fmt_value(c.threshold, c.unit)),
                )
            )
    conclusion = verification.conclusion or verification.decide_conclusion()
    rows.append(texts.TERMINAL_VERDICT.format(conclusion=conclusion.value.upper(), calls=verification.github_api_calls))
    return "\n".join(rows)
