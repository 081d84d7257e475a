"""Issue 12 §6 on the lab: a pull request whose title and branch are hostile, whose pipeline names a step to
mention a team, and whose staging backend answers with Markdown and Jira markup. After `normal-deploy`, nothing of
it renders as a link, an image or a mention in the PR comment, the check runs (read back over REST) or JIRA."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.reporting.escape import ZWJ, md_code
from lab.topology import DEFAULT_TOPOLOGY
from tests.hostile import BRANCH, HEALTH_COMPONENT, HEALTH_STATUS, STEP, TITLE, jira_problems, markdown_problems

from .harness import running_world

pytestmark = pytest.mark.lab


def hostile_topology(tmp: Path) -> Path:
    raw = yaml.safe_load(DEFAULT_TOPOLOGY.read_text(encoding="utf-8"))
    raw["pull_request"].update({"title": TITLE, "head_ref": BRANCH})
    raw["backend"]["extra_components"] = {HEALTH_COMPONENT: HEALTH_STATUS}
    # The health-check step fails under `redis-down`, so its (hostile) name is quoted in the verdict's reason.
    raw["pipeline"] = {"step_names": {"deploy": STEP, "health_check": f"{STEP} [x](https://evil.example)"}}
    path = tmp / "topology.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_hostile_names_stay_text_in_the_comment_check_runs_and_jira(tmp_path: Path) -> None:
    with running_world(tmp_path, faults=("redis-down",), topology=hostile_topology(tmp_path)) as world:
        before = max((int(c["id"]) for c in world.issue_comments()), default=0)
        verdict = world.verify("/verify-staging normal-deploy")
        run = verdict.scenario("normal-deploy")
        assert run["conclusion"] == "failure"
        outputs = [(r["output"]["summary"] or "") + "\n" + (r["output"].get("text") or "") for r in verdict.check_runs]
        # The failed step and the backend's answer did reach the reports, as text.
        assert any(f"Deploy @{ZWJ}org/sre" in o for o in outputs)
        assert any("\\[click\\]" in o for o in outputs)
        for output in outputs:
            assert markdown_problems(output) == [], output
        assert all("\n" not in (r["output"]["title"] or "") for r in verdict.check_runs)

        [comment] = world.bot_comments(since_id=before)
        body = comment["body"]
        assert md_code(BRANCH) in body
        assert markdown_problems(body, code_spans=(md_code(BRANCH),)) == [], body

        jira = world.jira_comments()
        assert len(jira) >= 2 and "approved" in jira[-2]  # the start comment names the title, as text
        for text in jira:
            assert jira_problems(text) == [], text
