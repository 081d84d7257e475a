"""Issue 15 §3: a measurement within its threshold but clearly worse than its own recent baseline is flagged as
regressed, with the baseline, in every report; it fails its scenario only when `regressions.fail` is set."""

from __future__ import annotations

import json

import jsonschema

from bot.model import Regression, ScenarioConclusion, ScenarioId, Verification
from bot.regressions import baseline, find_regression, find_regressions, flag_regressions
from bot.reporting.check_render import overall_output, scenario_output
from bot.reporting.comment_render import render_comment
from bot.reporting.escape import jira_text, md_text
from bot.reporting.jira_render import finished_comment
from bot.serialize import verification_from_json, verification_to_json
from bot.settings import RegressionSettings
from bot.texts import history as texts
from tests.paths import FIXTURES
from tests.support.history import FAILOVER, failover_run

RULES = RegressionSettings()  # ratio 0.5, seconds 5, runs 10, min_runs 5


def test_no_baseline_from_fewer_passing_runs_than_min_runs() -> None:
    assert baseline([4.0] * 4, min_runs=5) is None
    assert baseline([4.0, 4.0, 5.0, 6.0, 100.0], min_runs=5) == 5.0
    assert find_regression(FAILOVER, 25.0, [4.0] * 4, RULES) is None


def test_the_baseline_is_the_median_of_the_last_runs_only() -> None:
    # Newest first: the 10 latest are fast; older slow runs beyond the window do not count.
    passing = [4.0] * 10 + [20.0] * 10
    found = find_regression(FAILOVER, 12.0, passing, RULES)
    assert found == Regression(measurement=FAILOVER, value=12.0, baseline=4.0, ratio=2.0, runs=10)


def test_both_conditions_are_needed() -> None:
    passing = [4.0] * 10
    assert find_regression(FAILOVER, 8.0, passing, RULES) is None  # +100 % but only +4 s
    long = [40.0] * 10
    assert find_regression("deployment_duration_s", 46.0, long, RULES) is None  # +6 s but only +15 %
    assert find_regression("deployment_duration_s", 61.0, long, RULES) is not None  # +21 s and +52 %
    assert find_regression(FAILOVER, 9.5, passing, RULES) is not None  # +5.5 s and +137 %


def test_settings_change_the_limits_and_a_zero_baseline_has_no_ratio() -> None:
    strict = RegressionSettings(ratio=0.1, seconds=1, runs=3, min_runs=2)
    assert find_regression(FAILOVER, 6.0, [4.0, 4.0], strict) == Regression(FAILOVER, 6.0, 4.0, 0.5, 2)
    found = find_regressions({"runs_overlap_s": 7.0, "queue_s": None}, {"runs_overlap_s": [0.0] * 5}, RULES)
    assert found == [Regression("runs_overlap_s", 7.0, 0.0, None, 5)]


class Baselines:
    """Passing values per measurement, newest first; remembers what was asked."""

    def __init__(self, values: dict[str, list[float]]) -> None:
        self.values = values
        self.asked: list[tuple[str, str, str, int, str]] = []

    async def passing_values(
        self, *, environment: str, scenario: str, measurement: str, limit: int, exclude: str
    ) -> list[float]:
        self.asked.append((environment, scenario, measurement, limit, exclude))
        return self.values.get(measurement, [])[:limit]


async def test_only_passed_scenarios_are_checked_and_the_fail_flag_fails_them() -> None:
    source = Baselines({FAILOVER: [4.0] * 10})
    failed = failover_run(1, 25.0, passed=False)
    await flag_regressions(failed, source=source, rules=RULES)
    assert failed.scenarios[0].regressions == [] and source.asked == []

    shown = failover_run(2, 12.0)
    await flag_regressions(shown, source=source, rules=RULES)
    assert [r.measurement for r in shown.scenarios[0].regressions] == [FAILOVER]
    assert shown.scenarios[0].conclusion is ScenarioConclusion.PASSED  # shown, not failed
    assert (("staging", "failover", FAILOVER, 10, "vs-h002")) in source.asked

    failing = failover_run(3, 12.0)
    await flag_regressions(failing, source=source, rules=RegressionSettings(fail=True))
    result = failing.scenarios[0]
    assert result.conclusion is ScenarioConclusion.FAILED
    assert result.reason is not None and "failover_latency_s regressed: 12.0 s" in result.reason
    assert "baseline of 4.0 s" in result.reason
    report = failing.to_report()
    assert report["scenarios"][0]["regressions"] == [
        {"measurement": FAILOVER, "value": 12.0, "baseline": 4.0, "ratio": 2.0, "runs": 10}
    ]
    # Valid against the report schema, whose `regressions` (added here) describes exactly these fields.
    schema = json.loads((FIXTURES / "contracts" / "verification-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    item = schema["$defs"]["scenario"]["properties"]["regressions"]["items"]
    assert set(item["required"]) == set(report["scenarios"][0]["regressions"][0])


def regressed_verification(measurement: str = FAILOVER) -> Verification:
    v = failover_run(4, 12.0)
    v.scenarios[0].regressions = [Regression(measurement, 12.0, 4.0, 2.0, 10)]
    return v


def test_the_mark_and_baseline_appear_in_the_check_runs_comment_and_jira() -> None:
    v = regressed_verification()
    scenario = v.scenario(ScenarioId.FAILOVER)
    output = scenario_output(v, scenario)
    assert output.title.endswith(texts.CHECK_TITLE_REGRESSED.format(measurements=FAILOVER))
    for text in (
        output.summary,
        overall_output(v).summary,
        render_comment(v, base_url="https://github.com", signoff_team=None),
    ):
        assert texts.REGRESSIONS_HEADER.format(runs=10) in text
        assert f"| failover | {FAILOVER.replace('_', chr(92) + '_')} **regressed** | 12.0 s | 4.0 s |" in text
        assert "+8.0 s (+200 %)" in text
    jira = finished_comment(v, pull_request_url="https://github.com/o/r/pull/42")
    assert texts.JIRA_REGRESSIONS_INTRO in jira
    assert "*regressed* — 12.0 s, baseline 4.0 s (\\+8.0 s (\\+200 %))" in jira


def test_regressions_survive_a_restart_of_the_bot() -> None:
    v = regressed_verification()
    assert verification_from_json(verification_to_json(v)) == v


def test_nothing_regressed_shows_no_section() -> None:
    v = failover_run(5, 4.0)
    assert "regressed" not in render_comment(v, base_url="https://github.com", signoff_team=None)
    assert texts.JIRA_REGRESSIONS_INTRO not in finished_comment(v, pull_request_url="https://x.test/pull/1")
    assert "regressions" not in v.to_report()["scenarios"][0]


def test_a_hostile_measurement_name_is_escaped_everywhere() -> None:
    name = "<img src=x> [link](http://evil) @admin |"
    v = regressed_verification(name)
    comment = render_comment(v, base_url="https://github.com", signoff_team=None)
    assert f"| failover | {md_text(name)} **regressed** |" in comment
    assert "<img" not in comment.replace("\\<img", "") and "@admin" not in comment
    jira = finished_comment(v, pull_request_url="https://x.test/pull/1")
    assert f"* failover: {jira_text(name)} *regressed*" in jira
    assert "[link]" not in jira
