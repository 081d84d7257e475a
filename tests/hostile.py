"""Text a pull-request author controls, written to attack the reports, and what a reader would check: that none
of it renders as a link, an image, HTML, a mention or a Jira macro in the PR comment, check runs or JIRA."""

from __future__ import annotations

import re

TITLE = "INFRA-473 [approved](https://evil.example) @paws360/everyone <img src=x>"
#: Git allows both in a branch name; a backtick would end a one-backtick code span early.
BRANCH = "fix-`x`|@paws360/everyone"
STEP = "Deploy @org/sre"
#: What a staging backend running the author's code could answer as a health component and its status.
HEALTH_COMPONENT = "[click](https://evil.example)"
HEALTH_STATUS = "**UP** @org/sre <img src=x> {noformat} [~admin] [x|https://evil.example] !https://evil.example/i.png!"
#: An SRE's sign-off comment that tries to end the form's code block and JIRA's {noformat}.
SIGNOFF_TEXT = "fine\n```\n[approved](https://evil.example) @org/sre\n{noformat}\n[~admin]\n~~~~\n`````"

_MENTION = re.compile(r"@(?:paws360/everyone|org/sre)\b")
_MD_LINK = re.compile(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(")
_HTML = re.compile(r"(?<!\\)<(?:img|a)\b", re.IGNORECASE)


def markdown_problems(body: str, *, code_spans: tuple[str, ...] = ()) -> list[str]:
    """Why GitHub would render part of `body` as a link, image, HTML or mention (`code_spans`: exact spans of
    ours that hold hostile text as code, where nothing renders)."""
    for span in code_spans:
        body = body.replace(span, "")
    problems = []
    for m in _MD_LINK.finditer(body):
        if "evil" in body[m.end() : m.end() + 40]:
            problems.append(f"link: {body[m.start() : m.end() + 30]!r}")
    if "://evil.example" in body:
        problems.append("a bare URL GitHub autolinks")
    if _HTML.search(body):
        problems.append("raw HTML")
    if re.search(r"(?<!\\)!\[", body):
        problems.append("an image")
    problems += [f"mention {m.group(0)}" for m in _MENTION.finditer(body)]
    return problems


def jira_problems(body: str) -> list[str]:
    """Why Jira's wiki renderer would show part of `body` (outside a {noformat} block) as a link, mention, image
    or macro."""
    outside = re.sub(r"\{noformat\}.*?\{noformat\}", "", body, flags=re.S)
    # The bot's own links to the files it attached: names it composes from the verification id and fixed names.
    outside = re.sub(
        r"\[\^verify-staging-vs-[0-9a-f]+-(?:report\.md|verification\.json|timeline\.svg|timeline\.png)\]", "", outside
    )
    problems = []
    if re.search(r"(?<!\\)\[", outside):
        problems.append("a [link] or [~mention]")
    if re.search(r"(?<!\\)\{", outside):
        problems.append("a {macro}")
    if re.search(r"(?<!\\)![^\s!]+!", outside):
        problems.append("an !image!")
    if "://evil.example" in outside:
        problems.append("a bare URL Jira autolinks")
    return problems
