"""The history page (`GET /verifications`) as HTML and its JSON twin (`GET /verifications.json`): each
environment's latest verdicts, and a small chart per measurement. Every string is escaped with `html.escape`."""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.history import HistoryEntry
from bot.model import iso
from bot.reporting.details_page import details_url
from bot.reporting.format import fmt_date, fmt_value
from bot.reporting.trends import EnvironmentHistory, Series, trend_svg
from bot.texts import history as texts

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: middle; }
.success { color: #1a7f37; } .failure, .error { color: #cf222e; } .cancelled, .regressed { color: #bc4c00; }
"""
#: Rows of the verdict table per environment (the charts show every verification loaded).
TABLE_ROWS = 10


def history_json(histories: Sequence[EnvironmentHistory], *, public_url: str) -> dict[str, object]:
    """The data of the page: per environment, its verifications (newest first) and each measurement's points."""
    return {
        "environments": [
            {
                "environment": h.environment,
                "verifications": [_entry_json(e, public_url=public_url) for e in h.entries],
                "trends": [
                    {
                        "scenario": s.scenario,
                        "measurement": s.measurement,
                        "points": [
                            {
                                "verification_id": p.verification_id,
                                "at": iso(p.at),
                                "value": p.value,
                                "passed": p.passed,
                                "regressed": p.regressed,
                                "ref": p.ref,
                                "sha": p.sha,
                                "trigger": p.trigger,
                            }
                            for p in s.points
                        ],
                    }
                    for s in h.series
                ],
            }
            for h in histories
        ]
    }


def _entry_json(e: HistoryEntry, *, public_url: str) -> dict[str, object]:
    return {
        "verification_id": e.verification_id,
        "repository": e.repository,
        "pull_request": e.pull_request,
        "environment": e.environment,
        "ref": e.ref,
        "sha": e.sha,
        "trigger": e.trigger,
        "requested_by": e.requested_by,
        "started_at": iso(e.started_at),
        "completed_at": iso(e.completed_at),
        "conclusion": e.conclusion,
        "regressions": e.regressions,
        "details_url": details_url(public_url, e.verification_id),
    }


def render_history(histories: Sequence[EnvironmentHistory], *, public_url: str) -> str:
    title = html.escape(texts.PAGE_TITLE)
    body = [f"<h1>{title}</h1>", f"<p>{html.escape(texts.PAGE_INTRO)}</p>"]
    if not any(h.entries for h in histories):
        body.append(f"<p>{html.escape(texts.PAGE_NONE)}</p>")
    for h in histories:
        body.append(f"<h2>{html.escape(h.environment)}</h2>")
        body.append(_verdicts(h.entries[:TABLE_ROWS], public_url=public_url))
        body.append(_charts(h.series))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def _verdicts(entries: Sequence[HistoryEntry], *, public_url: str) -> str:
    head = "<tr><th>Finished</th><th>Verification</th><th>Repository</th><th>Trigger</th><th>Ref</th><th>Commit</th>"
    rows = [head + "<th>Result</th></tr>"]
    for e in entries:
        e_ = html.escape
        regressed = f' <span class="regressed">{e_(texts.REGRESSED)}</span>' if e.regressions else ""
        rows.append(
            f"<tr><td>{e_(fmt_date(e.completed_at))}</td>"
            f'<td><a href="{e_(details_url(public_url, e.verification_id))}">{e_(e.verification_id)}</a></td>'
            f"<td>{e_(e.repository)}{f'#{e.pull_request}' if e.pull_request else ''}</td>"
            f"<td>{e_(e.trigger)}</td><td>{e_(e.ref)}</td>"
            f"<td><code>{e_(e.sha[:12])}</code></td>"
            f'<td class="{e_(e.conclusion)}">{e_(e.conclusion)}{regressed}</td></tr>'
        )
    return "<table>" + "".join(rows) + "</table>"


def _charts(series: Sequence[Series]) -> str:
    if not series:
        return ""
    rows = ["<tr><th>Scenario</th><th>Measurement</th><th>Trend</th><th>Last</th><th>Median</th></tr>"]
    for s in series:
        title = f"{s.scenario} {s.measurement}"
        rows.append(
            f"<tr><td>{html.escape(s.scenario)}</td><td>{html.escape(s.measurement)}</td>"
            f"<td>{trend_svg(s, title=title)}</td><td>{html.escape(fmt_value(s.last, 's'))}</td>"
            f"<td>{html.escape(fmt_value(s.median, 's'))}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"
