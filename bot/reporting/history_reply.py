"""The reply to `/verify-staging history`: the last verifications in a table and each measurement's trend as a
sparkline (Markdown; refs and logins escaped, since PR authors choose branch names)."""

from __future__ import annotations

from bot.model import VerificationConclusion
from bot.reporting.escape import md_code, md_text
from bot.reporting.format import fmt_date, fmt_value
from bot.reporting.trends import EnvironmentHistory, sparkline, verdict_marks
from bot.texts import history as texts

#: Verifications the reply lists.
HISTORY_REPLY_LIMIT = 10

_VERDICT = {
    VerificationConclusion.SUCCESS.value: "✅ passed",
    VerificationConclusion.FAILURE.value: "❌ failed",
    VerificationConclusion.ERROR.value: "⚠️ error",
    VerificationConclusion.CANCELLED.value: "⏹️ cancelled",
}


def render_history_reply(history: EnvironmentHistory) -> str:
    if not history.entries:
        return texts.HISTORY_NONE.format(environment=history.environment)
    rows = [
        texts.HISTORY_ROW.format(
            when=fmt_date(e.completed_at),
            verification_id=e.verification_id,
            trigger=md_text(e.trigger),
            ref=md_code(e.ref, in_table=True),
            sha=e.sha[:7],
            verdict=_VERDICT.get(e.conclusion, md_text(e.conclusion)),
            regressed=texts.HISTORY_ROW_REGRESSED if e.regressions else "",
        )
        for e in history.entries
    ]
    table = "\n".join([texts.HISTORY_HEADER.format(environment=history.environment, count=len(rows)), *rows])
    if not history.series:
        return table + texts.HISTORY_NO_TRENDS
    trends = [
        texts.HISTORY_TREND_ROW.format(
            scenario=s.scenario,
            measurement=md_text(s.measurement),
            sparkline=sparkline([p.value for p in s.points]),
            marks=verdict_marks(s.points),
            last=fmt_value(s.last, "s"),
            median=fmt_value(s.median, "s"),
        )
        for s in history.series
    ]
    return table + "\n".join([texts.HISTORY_TRENDS_HEADER, *trends])
