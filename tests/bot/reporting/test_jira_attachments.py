"""The evidence on the JIRA issue: report.md and verification.json attached at the end, named with the
verification id and linked from the results comment; a re-run replaces its own earlier files and nobody else's;
JIRA down at the end is recorded and retried."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import jsonschema

from bot.model import ScenarioConclusion, ScenarioId, Verification
from bot.ports import JiraAttachment, JiraError
from bot.reporting import build_reporter
from bot.reporting.jira_attachments import attach_files, attachment_files
from bot.settings import Settings
from bot.texts import reports as texts
from tests.fakes.clock import FakeClock
from tests.fakes.jira import FakeJira
from tests.paths import REPORT_SCHEMA
from tests.support.verifications import conclude, new_verification

from .conftest import RecordingApp

REPORT = "verify-staging-v-0001-report.md"
JSON = "verify-staging-v-0001-verification.json"


def ours(*, v_id: str) -> list[str]:
    """The evidence files' names for a verification (report.md, verification.json, ...)."""
    v = new_verification((ScenarioId.NORMAL_DEPLOY,))
    v.verification_id = v_id
    return [f.filename for f in attachment_files(v, report_md=lambda: "")]


@dataclass
class Index:
    """The store's answer: which verifications the pull request has had."""

    ids: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    async def verification_ids(self, *, repository: str, pull_request: int) -> list[str]:
        return list(self.ids.get((repository, pull_request), []))


async def verify(
    settings: Settings,
    app: RecordingApp,
    clock: FakeClock,
    jira: FakeJira,
    *,
    index: Index | None = None,
    down_at_the_end: bool = False,
    verification: Verification | None = None,
) -> Verification:
    """One passed verification (of PR 42 unless `verification` is given) reported from start to end (JIRA
    optionally lost before the end)."""
    reporter = build_reporter(settings=settings, github=app, jira=jira, clock=clock, verifications=index)
    v = verification or new_verification((ScenarioId.NORMAL_DEPLOY,))
    await reporter.started(v)
    conclude(v.scenarios[0], ScenarioConclusion.PASSED, start=0)
    v.conclusion, v.completed_at = v.decide_conclusion(), clock.now()
    jira.down = down_at_the_end
    await reporter.finished(v)
    return v


async def test_the_report_files_are_attached_with_the_verification_id_and_linked(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    v = await verify(settings, app, clock, jira)

    files = jira.files()
    expected = [f.filename for f in attachment_files(v, report_md=lambda: "")]  # the one list of evidence files
    assert expected[:2] == [REPORT, JSON]
    assert list(files) == expected
    # report.md is the final PR comment, as the demo's report directory holds it.
    assert files[REPORT].decode() == app.repo_.body(v.comment_id)
    document = json.loads(files[JSON])
    jsonschema.validate(document, json.loads(REPORT_SCHEMA.read_text()))
    assert document["verification_id"] == "v-0001"
    assert document["scenarios"][0]["conclusion"] == "passed"
    results = jira.bodies()[-1]
    assert texts.JIRA_ATTACHMENTS.format(links=", ".join(f"[^{name}]" for name in expected)) in results
    assert v.jira is not None and v.jira.attachments == expected and v.jira.error is None
    assert v.to_report()["jira"]["attachments"] == expected


async def test_a_rerun_replaces_its_own_earlier_files_and_nobody_elses(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    # v-0000 was this pull request's first verification; v-0999 belongs to another pull request.
    index = Index({("paws360/paws360", 42): ["v-0000", "v-0001"], ("paws360/paws360", 7): ["v-0999"]})
    jira.attach("INFRA-473", "verify-staging-v-0000-report.md", b"old report", author="verify-staging")
    jira.attach("INFRA-473", "verify-staging-v-0000-verification.json", b"{}", author="verify-staging")
    theirs = {
        "verify-staging-v-0999-report.md": jira.attach(
            "INFRA-473", "verify-staging-v-0999-report.md", b"PR 7", author="verify-staging"
        ),
        # A person's file that looks like ours: not ours to delete.
        "verify-staging-v-0000-notes.md": jira.attach(
            "INFRA-473", "verify-staging-v-0000-notes.md", b"my notes", author="sam-sre"
        ),
        "runbook.pdf": jira.attach("INFRA-473", "runbook.pdf", b"%PDF", author="sam-sre"),
    }

    await verify(settings, app, clock, jira, index=index)

    files = jira.files()
    assert sorted(files) == sorted([*theirs, *ours(v_id="v-0001")])
    for name, stored in theirs.items():
        assert files[name] == stored.content


async def test_without_the_store_nothing_earlier_is_deleted(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    jira.attach("INFRA-473", "verify-staging-v-0000-report.md", b"old report", author="verify-staging")
    await verify(settings, app, clock, jira)
    assert sorted(jira.files()) == sorted(["verify-staging-v-0000-report.md", *ours(v_id="v-0001")])
    assert jira.deleted == []


async def test_jira_down_at_the_end_is_recorded_retried_and_the_files_can_be_sent_again(
    settings: Settings, app: RecordingApp, clock: FakeClock, jira: FakeJira
) -> None:
    async with clock.running():
        v = await verify(settings, app, clock, jira, down_at_the_end=True)

    assert v.jira is not None and v.jira.error is not None
    assert "attachments: JIRA at http://jira.invalid could not be reached" in v.jira.error
    assert "results comment:" in v.jira.error
    assert v.jira.attachments == []
    # Nothing lost: the verification renders the same files again once JIRA is back, under the names the
    # results comment would have linked.
    jira.down = False
    again = attachment_files(v, report_md=lambda: app.repo_.body(v.comment_id))
    sent = await attach_files(jira, "INFRA-473", again, verification_id="v-0001", earlier=["v-0001"])
    assert sent == ours(v_id="v-0001")
    assert jira.files()[REPORT].decode() == app.repo_.body(v.comment_id)


async def test_a_brief_outage_at_the_end_is_retried_without_duplicates(
    settings: Settings, app: RecordingApp, clock: FakeClock
) -> None:
    jira = FlakyUploads(fail_upload_number=2)
    async with clock.running():
        v = await verify(settings, app, clock, jira)

    assert v.jira is not None and v.jira.error is None
    # The first file went up before the failure and is not sent twice.
    assert [a.filename for a in jira.stored] == ours(v_id="v-0001")
    assert jira.uploads == len(ours(v_id="v-0001")) + 1


@dataclass
class FlakyUploads(FakeJira):
    """The `fail_upload_number`th upload fails (JIRA's 503 halfway through the set)."""

    fail_upload_number: int = 0
    uploads: int = 0

    async def add_attachment(self, key: str, *, filename: str, content: bytes) -> JiraAttachment:
        self.uploads += 1
        if self.uploads == self.fail_upload_number:
            raise JiraError("JIRA could not answer: HTTP 503")
        return await super().add_attachment(key, filename=filename, content=content)
