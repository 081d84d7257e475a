"""The seed's SRE sign-off form (T042), completed from a verification and the SRE's decision: the five tests, the
five sign-off criteria (1 and 2 from the verification, 3 to 5 affirmed by the SRE who approves) and the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.model import SCENARIO_ORDER, ScenarioConclusion, ScenarioId, Verification
from bot.reporting.escape import one_line
from bot.reporting.format import fmt_date
from bot.texts import reports as texts


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_REVISION = "needs-revision"


@dataclass(frozen=True)
class SignOff:
    outcome: Outcome
    engineer: str
    comment: str
    at: datetime

    @property
    def approved(self) -> bool:
        return self.outcome is Outcome.APPROVED


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


def signoff_criteria(verification: Verification, signoff: SignOff) -> list[tuple[bool, str, str]]:
    """The seed's five sign-off criteria as (met, criterion, why): 1 and 2 from the verification, 3 to 5 affirmed
    by the SRE's approval (and only by an approval)."""
    failed = not_passed(verification)
    monitoring = [f for f in failed if f.startswith(f"{ScenarioId.MONITORING.value}:")]
    from_verification = [
        (not failed, texts.SIGNOFF_CRITERIA[0], failed),
        (not monitoring, texts.SIGNOFF_CRITERIA[1], monitoring),
    ]
    criteria = [
        (
            met,
            criterion,
            texts.SIGNOFF_FROM_VERIFICATION.format(verification_id=verification.verification_id)
            if met
            else texts.SIGNOFF_NOT_MET.format(verification_id=verification.verification_id, why=", ".join(why)),
        )
        for met, criterion, why in from_verification
    ]
    engineer = one_line(signoff.engineer)
    why = (
        texts.SIGNOFF_AFFIRMED.format(engineer=engineer)
        if signoff.approved
        else texts.SIGNOFF_NOT_AFFIRMED.format(engineer=engineer, outcome=texts.SIGNOFF_OUTCOME[signoff.outcome.value])
    )
    criteria.extend((signoff.approved, criterion, why) for criterion in texts.SIGNOFF_CRITERIA[2:])
    return criteria


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
    criteria = [
        texts.SIGNOFF_CRITERION_LINE.format(mark="x" if met else " ", n=n, criterion=criterion, state=state)
        for n, (met, criterion, state) in enumerate(signoff_criteria(verification, signoff), start=1)
    ]
    reason_line = {
        Outcome.APPROVED: "",
        Outcome.REJECTED: texts.SIGNOFF_REJECT_REASON.format(reason=signoff.comment),
        Outcome.NEEDS_REVISION: texts.SIGNOFF_REVISE_REASON.format(reason=signoff.comment),
    }[signoff.outcome]
    return texts.SIGNOFF_FORM.format(
        date=fmt_date(signoff.at),
        engineer=one_line(signoff.engineer),
        results="\n".join(lines),
        criteria="\n".join(criteria),
        comments=signoff.comment or "—",
        approved="x" if signoff.outcome is Outcome.APPROVED else " ",
        rejected="x" if signoff.outcome is Outcome.REJECTED else " ",
        revision="x" if signoff.outcome is Outcome.NEEDS_REVISION else " ",
        reason_line=reason_line,
    ).rstrip()
