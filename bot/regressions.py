"""Flags a measurement that still passes its threshold but is clearly worse than its own recent baseline.

The baseline of a measurement is the median of its values in the environment's last passing runs (a run counts
as passing for a measurement when its scenario passed). It is flagged when it is worse by more than
`regressions.ratio` of the baseline AND by more than `regressions.seconds`: the ratio alone would flag 0.2 s
against 0.1 s, the seconds alone a 40 s deployment against 34 s. Every measurement is a duration: lower is better.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.model import Regression, ScenarioConclusion, ScenarioId, Verification
from bot.settings_model import RegressionSettings
from bot.texts import history as texts


def baseline(values: Sequence[float], *, min_runs: int) -> float | None:
    """The median of `values` (the latest passing runs), or None when there are fewer than `min_runs`."""
    if len(values) < max(1, min_runs):
        return None
    return float(statistics.median(values))


def find_regression(
    measurement: str, value: float | None, passing: Sequence[float], rules: RegressionSettings
) -> Regression | None:
    """The regression of `value` against the median of `passing` (newest first, cut to `rules.runs`), if any."""
    recent = list(passing)[: rules.runs]
    base = baseline(recent, min_runs=rules.min_runs)
    if value is None or base is None:
        return None
    worse = value - base
    ratio = worse / base if base > 0 else None
    # A zero baseline (e.g. no overlap at all) has no ratio: then "more than ratio worse" holds for any increase.
    if worse <= rules.seconds or (ratio is not None and ratio <= rules.ratio):
        return None
    return Regression(
        measurement=measurement,
        value=value,
        baseline=round(base, 3),
        ratio=None if ratio is None else round(ratio, 3),
        runs=len(recent),
    )


def find_regressions(
    measurements: Mapping[str, float | None], passing: Mapping[str, Sequence[float]], rules: RegressionSettings
) -> list[Regression]:
    """Every regressed measurement of one scenario, in the order they were measured."""
    found = (find_regression(name, value, passing.get(name, ()), rules) for name, value in measurements.items())
    return [r for r in found if r is not None]


def worse_by(regression: Regression) -> str:
    """`+6.2 s (+78 %)` for a person."""
    percent = "—" if regression.ratio is None else f"+{regression.ratio * 100:.0f} %"
    return texts.WORSE_BY.format(seconds=f"{regression.value - regression.baseline:.1f} s", percent=percent)


class BaselineSource(Protocol):
    """The part of bot/store/ the check reads: a measurement's latest passing values, newest first."""

    async def passing_values(
        self, *, environment: str, scenario: str, measurement: str, limit: int, exclude: str
    ) -> list[float]: ...


async def flag_regressions(v: Verification, *, source: BaselineSource, rules: RegressionSettings) -> None:
    """Record the regressions of every passed scenario of `v`; with `rules.fail`, such a scenario fails.

    Called once the scenarios have run and before the final reports, so every report shows the same.
    """
    for result in v.scenarios:
        if result.conclusion is not ScenarioConclusion.PASSED:
            continue
        passing = {
            name: await source.passing_values(
                environment=v.environment,
                scenario=result.id.value,
                measurement=name,
                limit=rules.runs,
                exclude=v.verification_id,
            )
            for name, value in result.measurements.items()
            if value is not None
        }
        result.regressions = find_regressions(result.measurements, passing, rules)
        if result.regressions and rules.fail:
            first = result.regressions[0]
            result.conclusion = ScenarioConclusion.FAILED
            result.reason = texts.REGRESSION_REASON.format(
                measurement=first.measurement,
                value=f"{first.value:.1f} s",
                baseline=f"{first.baseline:.1f} s",
                worse=worse_by(first),
            )


def regressed(v: Verification) -> list[tuple[ScenarioId, Regression]]:
    """(scenario, regression) for every regression in `v`, in scenario order."""
    return [(s.id, r) for s in v.scenarios for r in s.regressions]
