"""The verification's details page as HTML: the verdict, each scenario's criteria, the timeline picture inline,
the faults injected and how they were restored, and links to the workflow runs, the pull request and JIRA.

Every value is escaped with `html.escape`; links are only ever http(s). The verification is passed through
`Redactor` before anything is rendered from it, because reasons, errors and faults could carry an SSH address or a
secret: the page names hosts, never their addresses.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import quote, urlsplit

from bot.github.models import branch_name
from bot.model import Criterion, Restoration, ScenarioResult, Trigger, Verification, iso
from bot.reporting.comment_render import conversation_url
from bot.reporting.format import fmt_date, fmt_value
from bot.texts import evidence as texts
from bot.texts import reports as report_texts
from bot.texts import schedule as schedule_texts

HIDDEN = "[hidden]"
#: Escapes one value for HTML text or an attribute.
_Escape = Callable[[object], str]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.passed { color: #1a7f37; } .failed { color: #cf222e; } .unknown { color: #9a6700; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; }
"""


def details_url(public_url: str, verification_id: str) -> str:
    """Where the details page of a verification is served (`server.public_url` + the route)."""
    return f"{public_url.rstrip('/')}/verifications/{quote(verification_id, safe='')}"


@dataclass(frozen=True)
class Redactor:
    """Replaces SSH addresses and secrets by a placeholder in text shown on the page."""

    hidden: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None], *, shown: Iterable[str] = ()) -> Redactor:
        """Hide `values`, except those that are also names the page shows anyway (`shown`: a host named as its
        address) and those too short to hide without mangling ordinary words."""
        keep = set(shown)
        hidden = {v for v in values if v and len(v) >= 3 and v not in keep}
        # Longest first, so `10.0.0.5:2222` goes whole before `10.0.0.5` would leave `:2222` behind.
        return cls(tuple(sorted(hidden, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for value in self.hidden:
            text = text.replace(value, HIDDEN)
        return text

    def verification(self, v: Verification) -> Verification:
        """A copy of `v` with every text redacted, so whatever is rendered from it (page or picture, escaped
        however the format wants) can show no hidden value."""
        copy = self._redacted(v)
        assert isinstance(copy, Verification)
        return copy

    def _redacted(self, value: Any) -> Any:
        if isinstance(value, Enum | datetime | bool | int | float) or value is None:
            return value
        if isinstance(value, str):
            return self(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: self._redacted(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
            return dataclasses.replace(value, **changes)
        if isinstance(value, list | tuple):
            return type(value)(self._redacted(item) for item in value)
        if isinstance(value, dict):
            return {self._redacted(k): self._redacted(item) for k, item in value.items()}
        return self(str(value))


@dataclass(frozen=True)
class PageLinks:
    """The outside addresses the page links to: GitHub's web address, and JIRA's when it is configured."""

    github_web: str
    jira_url: str | None = None


def svg_fragment(svg_document: str) -> str:
    """The `<svg>` element of a standalone SVG document, to be put inline in HTML (no XML prolog or DOCTYPE)."""
    return svg_document[svg_document.index("<svg") :]


def _conversation_link(v: Verification, links: PageLinks) -> list[str]:
    """The pull request, or a scheduled verification's tracking issue (none when it has neither)."""
    url = conversation_url(links.github_web.rstrip("/"), v)
    if url is None:
        return []
    if v.pull_request:
        return [_link(url, texts.DETAILS_PULL_REQUEST.format(pull_request=v.pull_request))]
    return [_link(url, schedule_texts.DETAILS_TRACKING_ISSUE.format(number=v.tracking_issue))]


def render_details(v: Verification, *, svg: str, links: PageLinks) -> str:
    """The whole page (of a verification already redacted). `svg` is the timeline document (`timeline_svg(v)`)."""

    def e(value: object) -> str:
        return html.escape(str(value), quote=True)

    title = (
        schedule_texts.DETAILS_TITLE.format(repository=v.repository, ref=branch_name(v.ref))
        if v.trigger is Trigger.SCHEDULE
        else texts.DETAILS_TITLE.format(repository=v.repository, pull_request=v.pull_request)
    )
    finished = (
        texts.DETAILS_FINISHED.format(completed=fmt_date(v.completed_at))
        if v.completed_at
        else texts.DETAILS_NOT_FINISHED
    )
    summary = texts.DETAILS_SUMMARY.format(
        environment=v.environment,
        sha=v.head_sha[:12],
        requested_by=v.requested_by,
        started=fmt_date(v.started_at),
        finished=finished,
    )
    top_links = _conversation_link(v, links)
    if v.jira is not None and links.jira_url:
        jira_url = f"{links.jira_url.rstrip('/')}/browse/{quote(v.jira.issue, safe='')}"
        top_links.append(_link(jira_url, texts.DETAILS_JIRA.format(issue=v.jira.issue)))
    timeline_href = f"{quote(v.verification_id, safe='')}/timeline.svg"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="verdict {_conclusion_class(v)}"><strong>'
        f"{e(report_texts.VERIFICATION_HEADLINE[v.conclusion])}</strong></p>",
        f"<p>{e(summary)}</p>",
        f"<p>{' · '.join(top_links)}</p>",
        f"<h2>{e(texts.DETAILS_TIMELINE)}</h2>",
        f'<figure role="img" aria-label="{e(texts.DETAILS_TIMELINE_ALT)}">{svg_fragment(svg)}</figure>',
        f"<p>{_link(timeline_href, texts.DETAILS_TIMELINE_LINK)}</p>",
        f"<h2>{e(texts.DETAILS_SCENARIOS)}</h2>",
        *(_scenario(s, e) for s in v.scenarios),
        f"<h2>{e(texts.DETAILS_FAULTS)}</h2>",
        _restorations(v.restorations, e),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def not_found_page() -> str:
    message = html.escape(texts.DETAILS_NOT_FOUND)
    return f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{message}</title></head>' + (
        f"<body><p>{message}</p></body></html>\n"
    )


# ------------------------------------------------------------------------------------------------ internals
def _link(url: str, text: str) -> str:
    # Only http(s) or a relative path: a `javascript:` address must never become a link.
    scheme = urlsplit(url).scheme
    if scheme not in ("", "http", "https"):
        return html.escape(text)
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(text)}</a>'


def _conclusion_class(v: Verification) -> str:
    value = v.conclusion.value if v.conclusion else "running"
    return {"success": "passed", "failure": "failed"}.get(value, "unknown")


def _passed(c: Criterion) -> tuple[str, str]:
    if c.passed is None:
        return "unknown", texts.DETAILS_UNKNOWN
    return ("passed", texts.DETAILS_YES) if c.passed else ("failed", texts.DETAILS_NO)


def _value(value: object, unit: str | None) -> str:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str) + (f" {unit}" if unit else "")
    return fmt_value(value, unit)


def _scenario(s: ScenarioResult, e: _Escape) -> str:
    verdict = report_texts.SCENARIO_VERDICT[s.conclusion]
    rows = []
    for c in s.criteria:
        css, passed = _passed(c)
        rows.append(
            f'<tr class="{css}"><td>{e(c.id)}</td><td>{e(passed)}</td><td>{e(_value(c.observed, c.unit))}</td>'
            f"<td>{e(_value(c.threshold, c.unit))}</td><td>{e(c.description)}</td></tr>"
        )
    header = "".join(f"<th>{e(h)}</th>" for h in texts.DETAILS_CRITERIA_HEADER)
    runs = [_link(r.html_url, str(r.run_id)) if r.html_url else e(r.run_id) for r in s.runs]
    measured = ", ".join(f"{name} {fmt_value(value, 's')}" for name, value in s.measurements.items())
    parts = [
        f'<section id="scenario-{e(s.id.value)}">',
        f"<h3>{e(s.title)}: {e(verdict)}</h3>",
        f"<p>{e(s.reason)}</p>" if s.reason else "",
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>",
        f"<p>{e(texts.DETAILS_MEASUREMENTS)}{e(measured)}</p>" if measured else "",
        f"<p>{e(texts.DETAILS_RUNS)}{', '.join(runs)}</p>" if runs else f"<p>{e(texts.DETAILS_NO_RUNS)}</p>",
        "</section>",
    ]
    return "\n".join(p for p in parts if p)


def _restorations(restorations: list[Restoration], e: _Escape) -> str:
    if not restorations:
        return f"<p>{e(texts.DETAILS_NO_FAULTS)}</p>"
    header = "".join(f"<th>{e(h)}</th>" for h in texts.DETAILS_FAULTS_HEADER)
    rows = [
        f'<tr class="{"passed" if r.ok else "failed"}"><td>{e(r.host)}</td><td><code>{e(r.fault)}</code></td>'
        f"<td><code>{e(r.undo)}</code></td><td>{e(iso(r.injected_at) or '—')}</td>"
        f"<td>{e(iso(r.restored_at) or '—')}</td><td>{e(texts.DETAILS_YES if r.ok else texts.DETAILS_NO)}</td></tr>"
        for r in restorations
    ]
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
