"""One check's outcome (ok, or the problem with its fix) and how a batch of checks runs: concurrently, each
within a deadline, every failure to reach its target a problem with the reason (never ok)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from bot.texts import doctor as texts

log = structlog.get_logger("bot.doctor")


@dataclass(frozen=True)
class CheckResult:
    """`what` was checked; `fix` is None when it passed, else what is wrong and how to mend it."""

    what: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.fix is None

    @property
    def line(self) -> str:
        if self.fix is None:
            return texts.LINE_OK.format(what=self.what)
        return texts.LINE_PROBLEM.format(what=self.what, fix=self.fix)


def ok(what: str) -> CheckResult:
    return CheckResult(what)


def problem(what: str, fix: str) -> CheckResult:
    return CheckResult(what, fix)


@dataclass(frozen=True)
class Check:
    """A named check: `what` names it when it cannot finish; `run` returns one result or more."""

    what: str
    run: Callable[[], Awaitable[list[CheckResult]]]


async def run_one(check: Check, *, timeout: float) -> list[CheckResult]:
    try:
        async with asyncio.timeout(timeout):
            return await check.run()
    except TimeoutError:
        return [problem(check.what, texts.TIMED_OUT.format(seconds=timeout))]
    except Exception as exc:  # an unreachable system is a finding of the doctor, never a crash of it
        log.info("doctor check failed", check=check.what, error=str(exc))
        return [problem(check.what, texts.FAILED.format(error=str(exc) or type(exc).__name__))]


async def run_checks(checks: Sequence[Check], *, timeout: float) -> list[CheckResult]:
    """Every check at once, each within `timeout` seconds; results in the order of `checks`."""
    batches = await asyncio.gather(*(run_one(c, timeout=timeout) for c in checks))
    return [result for batch in batches for result in batch]


def summary(results: Sequence[CheckResult]) -> str:
    """`doctor: 14 ok, 1 problem: <the first problem's line>`."""
    problems = [r for r in results if not r.ok]
    head = texts.SUMMARY.format(
        ok=len(results) - len(problems), problems=len(problems), s="" if len(problems) == 1 else "s"
    )
    if not problems:
        return head
    return texts.SUMMARY_PROBLEMS.format(summary=head, first=problems[0].line.removeprefix("problem  "))
