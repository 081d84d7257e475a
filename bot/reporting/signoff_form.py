"""The seed's SRE sign-off form (T042), completed from a verification and the SRE's decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import SCENARIO_ORDER, ScenarioConclusion, ScenarioId, Verification
from bot.reporting.escape import one_line
from bot.reporting.format import fmt_date
from bot.texts import reports as texts


@dataclass(frozen=True)
class SignOff:
    approved: bool
    engineer: str
    comment: str
    at: datetime


def seed_results(verification: Verification) -> list[tuple[ScenarioId, str]]:
    """Each of the seed's five tests with PASS / FAIL / ERROR / NOT RUN from this verification."""
    selected = {s.id: s for s in verification.scenarios}
    results = []
    for scenario_id in SCENARIO_ORDER:
        s = selected.get(scenario_id)
        verdict = "NOT RUN" if s is None or s.conclusion is None else texts.SCENARIO_VERDICT[s.conclusion]
        results.append((scenario_id, verdict))
    return results


def not_passed(verification: Verification) -> list[str]:
    """`scenario: VERDICT` for every seed test that did not pass (approval needs all five passed)."""
    return [f"{sid.value}: {verdict}" for sid, verdict in seed_results(verification) if verdict != "PASS"]


def render_form(verification: Verification, signoff: SignOff) -> str:
    lines = [
        texts.FORM_RESULT_LINE.format(
            mark="x" if verdict == texts.SCENARIO_VERDICT[ScenarioConclusion.PASSED] else " ",
            n=n,
            name=texts.SEED_TEST_NAMES[sid],
            verdict=verdict,
        )
        for n, (sid, verdict) in enumerate(seed_results(verification), start=1)
    ]
    return texts.SIGNOFF_FORM.format(
        date=fmt_date(signoff.at),
        engineer=one_line(signoff.engineer),
        results="\n".join(lines),
        comments=signoff.comment or "—",
        approved="x" if signoff.approved else " ",
        rejected=" " if signoff.approved else "x",
        reason_line="" if signoff.approved else texts.SIGNOFF_REJECT_REASON.format(reason=signoff.comment),
    ).rstrip()
