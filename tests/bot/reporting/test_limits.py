"""GitHub's size limits: fields are cut with a clear note, buttons always fit, a report never fails on size."""

from __future__ import annotations

from bot.model import Criterion, ScenarioConclusion, ScenarioId
from bot.reporting.check_render import actions, scenario_output
from bot.reporting.comment_render import COMMENT_LIMIT, render_comment
from bot.reporting.format import GITHUB_FIELD_LIMIT, clip, clip_short
from bot.texts import reports as texts
from tests.support.texts import pattern
from tests.support.verifications import conclude, new_verification

CUT = pattern(texts.TRUNCATED_NOTE)


def test_a_huge_criteria_table_is_cut_to_the_limit_with_a_note() -> None:
    v = new_verification((ScenarioId.MONITORING,))
    s = v.scenarios[0]
    conclude(s, ScenarioConclusion.FAILED, start=0)
    s.criteria = [Criterion(f"panel-{n}", f"Panel {n} returns data " + "x" * 80, False, 0, 1) for n in range(2000)]
    s.reason = "r" * 70_000

    output = scenario_output(v, s)

    assert len(output.summary) <= GITHUB_FIELD_LIMIT
    assert output.text is not None and len(output.text) <= GITHUB_FIELD_LIMIT
    assert CUT.fullmatch(output.summary[output.summary.rindex("\n\n") :])
    assert output.summary.startswith("**Reason:** rrrr")


def test_clip_says_how_much_was_left_out_and_keeps_short_text() -> None:
    assert clip("short") == "short"
    cut = clip("a" * 200, 120)
    assert len(cut) == 120
    omitted = 200 - cut.index("\n")
    assert cut.endswith(texts.TRUNCATED_NOTE.format(omitted=omitted))


def test_actions_fit_githubs_limits() -> None:
    for running in (True, False):
        for failed in (True, False):
            for action in actions(running=running, any_failed=failed):
                assert len(action.label) <= 20
                assert len(action.description) <= 40
                assert len(action.identifier) <= 20
    assert len(actions(running=True, any_failed=True)) <= 3
    assert clip_short("Re-run every failed scenario", 20) == "Re-run every failed…"


def test_the_comment_is_cut_below_githubs_comment_limit() -> None:
    v = new_verification(tuple(ScenarioId))
    for n, s in enumerate(v.scenarios):
        conclude(s, ScenarioConclusion.FAILED, start=n * 20)
        s.reason = "y" * 20_000
    body = render_comment(v, base_url="https://github.com", signoff_team=None)
    assert len(body) < COMMENT_LIMIT
    assert CUT.search(body)
