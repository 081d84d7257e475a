"""`verify-staging jira-attach <id>`: the report files JIRA could not take at the end are sent again from the
stored verification, under the names the results comment links."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot.model import JiraReport, ScenarioConclusion, ScenarioId
from bot.reporting import html_base, render_comment
from bot.runtime.cli import build_parser
from bot.runtime.jira_resend import resend_attachments
from bot.settings import AuthorizationSettings, JiraSettings
from bot.store import Store
from bot.texts import reports as texts
from tests.fakes.clock import FakeClock
from tests.fakes.jira import FakeJira
from tests.support.settings import unit_settings
from tests.support.verifications import conclude, new_verification

SETTINGS = unit_settings(
    authorization=AuthorizationSettings(signoff_team="paws360/sre"),
    jira=JiraSettings(issue="INFRA-473"),
    api_url="http://127.0.0.1:9",
)
OUTAGE = "attachments: JIRA at http://jira.invalid could not be reached (ConnectionError)"


@contextlib.asynccontextmanager
async def stored_after_outage(tmp_path: Path) -> AsyncIterator[Store]:
    """A store holding a finished verification whose report files JIRA could not take at the end."""
    store = await Store.open(str(tmp_path / "bot.db"))
    try:
        v = new_verification((ScenarioId.NORMAL_DEPLOY,))
        conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
        v.conclusion, v.completed_at = v.decide_conclusion(), v.started_at
        v.jira = JiraReport(issue="INFRA-473", error=OUTAGE)
        await store.save_verification(v)
        yield store
    finally:
        await store.close()


async def test_the_files_held_back_by_an_outage_are_sent_again(tmp_path: Path) -> None:
    async with stored_after_outage(tmp_path) as store:
        jira, clock = FakeJira(), FakeClock()

        unknown = await resend_attachments(settings=SETTINGS, store=store, jira=jira, clock=clock, verification_id="x")
        done = await resend_attachments(
            settings=SETTINGS, store=store, jira=jira, clock=clock, verification_id="v-0001"
        )
        stored = await store.load_verification("v-0001")

    names = [
        f"verify-staging-v-0001-{name}" for name in ("report.md", "verification.json", "timeline.svg", "timeline.png")
    ]
    assert unknown == (False, texts.JIRA_RESEND_UNKNOWN.format(verification_id="x"))
    assert done == (True, texts.JIRA_RESEND_DONE.format(issue="INFRA-473", names=", ".join(names)))
    assert list(jira.files()) == names
    assert stored is not None and stored.jira is not None and stored.jira.attachments == names
    expected_md = render_comment(stored, base_url=html_base("http://127.0.0.1:9"), signoff_team="paws360/sre")
    assert jira.files()[names[0]].decode() == expected_md


async def test_jira_still_down_says_so(tmp_path: Path) -> None:
    async with stored_after_outage(tmp_path) as store:
        clock = FakeClock()
        async with clock.running():
            done, message = await resend_attachments(
                settings=SETTINGS, store=store, jira=FakeJira(down=True), clock=clock, verification_id="v-0001"
            )
    assert not done
    assert message.startswith("verification v-0001: JIRA still refuses the files (")


def test_the_command_line_names_the_verification() -> None:
    args = build_parser().parse_args(["jira-attach", "vs-0123456789ab"])
    assert (args.command, args.verification_id) == ("jira-attach", "vs-0123456789ab")
