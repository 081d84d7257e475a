"""Text that pull-request authors control (titles, branches, job, step and runner names, staging's answers, the
SRE's comment) made inert for where it is shown: GitHub Markdown, Jira wiki markup, Mermaid labels, a terminal.

Nothing passed through these functions renders as a link, an image, HTML, a mention or a macro; it reads as the
same text. Our own texts, scenario ids and numbers are trusted and need none of this.
"""

from __future__ import annotations

import re

#: U+200D ZERO WIDTH JOINER: invisible, but breaks `@mention`, `https://` autolinks and `#123` references.
ZWJ = "\u200d"

# Every line break Python's splitlines() knows, plus the other C0/C1 controls (ANSI escapes start with ESC).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# GitHub (and Jira) turn bare `scheme://` and `www.` into links, and GitHub `@login`, `#123` into references.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)|(?<=#)(?=\w)", re.IGNORECASE)
# Markdown punctuation that could start a link, image, HTML, table cell, emphasis, strike or math. Backticks stay:
# a code span shows its content as code (no link, mention or HTML inside), and our own reasons use them
# (`incident`), which escaping here would turn into literal backticks.
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>|~$])")
# Jira wiki: links/mentions `[...]`, macros `{...}`, tables `|`, images `!...!`, and emphasis marks.
_JIRA_SPECIAL = re.compile(r"([\[\]{}|!*_+^~])")
# `{noformat}` (with or without parameters) ends a noformat block whatever it holds.
_NOFORMAT = re.compile(r"\{(?=\s*noformat)", re.IGNORECASE)
#: `:` ends a task name, `#` starts an entity, `;` ends a statement, `%%` starts a comment: none may appear in text.
_MERMAID_UNSAFE = re.compile(r"[:#;%`<>\"{}\[\]\r\n]+")
_BACKTICKS = re.compile(r"`+")


def one_line(text: object) -> str:
    """The text on one line without control characters (a line break could end a table row or a code fence)."""
    return _CONTROLS.sub(" ", str(text))


def _unlink(text: str) -> str:
    return _AUTOLINK.sub(ZWJ, text)


def md_text(text: object) -> str:
    """Inline Markdown text (also safe in a table cell): shown as is, nothing in it is markup or a mention."""
    return _unlink(_MD_SPECIAL.sub(r"\\\1", one_line(text)))


def md_code(text: object, *, in_table: bool = False) -> str:
    """A code span showing `text` exactly, whatever backticks it holds.

    The fence is one backtick longer than the longest run inside; a space pads content that starts or ends with a
    backtick or a space (CommonMark strips exactly one). GitHub splits table rows on `|` even inside code spans,
    and shows `\\|` there as `|`; outside a table `\\|` would show its backslash, hence `in_table`.
    """
    content = one_line(text)
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * (longest + 1)
    if not content or content[0] in "` " or content[-1] in "` ":
        content = f" {content} "
    if in_table:
        content = content.replace("|", "\\|")
    return f"{fence}{content}{fence}"


def md_fence(content: str) -> str:
    """A code-block fence that no line of `content` can close: longer than any backtick run inside it."""
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    return "`" * max(3, longest + 1)


def jira_text(text: object) -> str:
    """Inline Jira wiki text (also safe in a table cell): no link, mention, macro, image, table or emphasis."""
    # `\\` is a forced line break in Jira and `\` escapes the next mark: a backslash of the author's is shown
    # as itself by putting an invisible joiner after it, so it can neither escape nor break.
    flat = one_line(text).replace("\\", "\\" + ZWJ)
    return _unlink(_JIRA_SPECIAL.sub(r"\\\1", flat))


def jira_noformat(text: str) -> str:
    """Content for a `{noformat}` block (lines kept): nothing inside can close the block."""
    return _NOFORMAT.sub("{" + ZWJ, text)


def mermaid_text(text: str) -> str:
    """A Mermaid gantt task or section name: no statement, entity, comment or HTML, on one line."""
    cleaned = " ".join(_MERMAID_UNSAFE.sub(" ", one_line(text)).split())
    return _unlink(cleaned) or "unnamed"


def terminal_text(text: object) -> str:
    """One line for a terminal: no escape sequence (colours, cursor moves, a cleared screen) gets through."""
    return one_line(text)
