"""Issue 12 §6: text a pull-request author controls (title, branch, job and step names, runner names, what the
staging backend answers) and the SRE's sign-off comment stay inert in the PR comment, the check runs and JIRA."""

from __future__ import annotations

import re

from bot.model import Criterion, JobRecord, ScenarioConclusion, ScenarioId, Verification
from bot.reporting.check_render import overall_output, scenario_output
from bot.reporting.comment_render import render_comment
from bot.reporting.escape import ZWJ, md_code, md_fence, md_text
from bot.reporting.jira_render import finished_comment, started_comment
from handlers.signoff import router as signoff_router
from scenarios.context import Health
from tests.handlers.handler_support import World, comment_event
from tests.handlers.test_signoff import finished, replies
from tests.hostile import (
    BRANCH,
    HEALTH_COMPONENT,
    HEALTH_STATUS,
    SIGNOFF_TEXT,
    STEP,
    TITLE,
    jira_problems,
    markdown_problems,
)
from tests.support.verifications import conclude, new_verification

BASE = "http://127.0.0.1:9"


def hostile_verification() -> Verification:
    """A failed normal-deploy whose every outside string is hostile, as the engine would have recorded it."""
    v = new_verification((ScenarioId.NORMAL_DEPLOY,))
    v.title, v.ref = TITLE, BRANCH
    [s] = v.scenarios
    conclude(s, ScenarioConclusion.FAILED, start=0, runner="runner @org/sre")
    health = Health(True, "UP", {HEALTH_COMPONENT: HEALTH_STATUS, "db": "UP"}, None).describe()
    failed = [f"deploy: {STEP}"]
    s.criteria += [
        Criterion("run-succeeded", "The workflow run concluded success with no failed step.", False,
                  {"conclusion": "failure", "failed_steps": failed}, "success"),
        Criterion("backend-health", "The backend reports UP with db, redis UP.", False, health, "UP"),
    ]  # fmt: skip
    s.reason = f"The workflow run concluded failure with failed steps: {', '.join(failed)}. Backend: {health}"
    s.runs[0].jobs.append(
        JobRecord(job_id=1, name=STEP, run_id=s.runs[0].run_id, conclusion="failure", runner_name="runner @org/sre",
                  created_at=s.started_at, started_at=s.started_at, completed_at=s.completed_at)
    )  # fmt: skip
    s.check_run_id = 5
    v.reason = f"Stopped: staging answered {HEALTH_STATUS}"
    v.conclusion = v.decide_conclusion()
    v.completed_at = s.completed_at
    return v


def test_hostile_names_render_as_text_in_the_pr_comment() -> None:
    v = hostile_verification()
    body = render_comment(v, base_url=BASE, signoff_team="paws360/sre")
    assert markdown_problems(body, code_spans=(md_code(BRANCH),)) == []
    # The branch is one code span that shows it exactly, and the reasons still read as they were written.
    assert md_code(BRANCH) == "``fix-`x`|@paws360/everyone``" and md_code(BRANCH) in body
    assert f"@{ZWJ}org/sre" in body and "\\[click\\]" in body
    assert f"[details]({BASE}/paws360/paws360/runs/5)" in body  # our own link is kept


def test_hostile_names_render_as_text_in_the_check_runs() -> None:
    v = hostile_verification()
    [s] = v.scenarios
    for output in (scenario_output(v, s), overall_output(v)):
        for field in (output.summary, output.text or ""):
            assert markdown_problems(field) == [], field
        assert "\n" not in output.title
    text = scenario_output(v, s).text or ""
    # Job and runner names are still readable in the jobs table, one row each.
    assert f"| {md_text(STEP)} | runner @{ZWJ}org/sre |" in text


def test_hostile_names_render_as_text_in_jira() -> None:
    v = hostile_verification()
    started = started_comment(v)
    finished_body = finished_comment(v, pull_request_url=f"{BASE}/paws360/paws360/pull/42")
    assert jira_problems(started) == [] and jira_problems(finished_body) == []
    assert "approved" in started and "fix-" in started  # title and branch are shown, as text
    assert "[~admin]" not in finished_body


def test_md_code_always_shows_the_text_in_one_span() -> None:
    for text in ("plain", "`", "a``b", "`lead", "trail`", " spaced ", "|"):
        span = md_code(text)
        fence = re.match(r"`+", span)
        assert fence is not None
        inner = span[len(fence.group(0)) : -len(fence.group(0))]
        assert span.endswith(fence.group(0)) and fence.group(0) not in inner
        assert all(len(run) != len(fence.group(0)) for run in re.findall(r"`+", inner))
    assert md_code("a|b", in_table=True) == "`a\\|b`"
    assert md_fence("x\n```\n````y") == "`````"


async def test_the_sre_comment_cannot_leave_the_form_on_the_pull_request_or_in_jira(w: World) -> None:
    await finished(w)
    await w.handle(signoff_router, comment_event(f"/sre-signoff reject {SIGNOFF_TEXT}", user="sam-sre"))

    (body,) = replies(w)
    lines = body.splitlines()
    opening = next(i for i, line in enumerate(lines) if line.startswith("```"))
    fence = lines[opening]
    # A line of only backticks, at least as many as the opening fence, would close it (CommonMark 4.5): only the
    # form's own last line may; every line of the SRE's text stays inside the block.
    closes = re.compile(f" {{0,3}}{fence}`*")
    closing = [i for i, line in enumerate(lines[opening + 1 :], opening + 1) if closes.fullmatch(line)]
    assert closing == [len(lines) - 1]
    assert "[approved](https://evil.example) @org/sre" in body  # shown as written, inside the code block
    [(_, jira)] = w.jira.comments
    assert len(re.findall(r"\{noformat\}", jira, re.IGNORECASE)) == 2
    assert jira_problems(jira) == []
