"""Which systemd units the bot may stop: exact names, or globs expanded into at most a few concrete units, never
anything that looks like an option and never the SSH daemon the undo needs to reach the host.

Checked twice: at settings load (the configured name or pattern) and right before a stop (every concrete unit a
pattern expanded to on the host).
"""

from __future__ import annotations

import fnmatch
import re

from bot.texts import safety as texts

#: Units the bot must never stop: without sshd no undo can reach the host again.
PROTECTED = ("ssh*", "sshd*")
#: Names a pattern is tried against at load time to tell whether it could ever match a protected unit.
_PROTECTED_SAMPLES = (
    "ssh.service",
    "sshd.service",
    "ssh.socket",
    "sshd.socket",
    "ssh@0.service",
    "sshd@0-10.0.0.1:22-10.0.0.2:50000.service",
    "sshd-keygen.service",
    "ssh-agent.service",
)
#: systemd unit name characters (systemd.unit(5): ASCII letters, digits, ":", "-", "_", ".", "\\", "@") plus the
#: glob characters systemctl accepts in patterns.
_UNIT_CHARS = re.compile(r"[A-Za-z0-9:_.\\@*?\[\]!-]+")


def is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def is_protected(unit: str) -> bool:
    """A concrete unit name the bot must never stop (sshd and friends)."""
    return any(fnmatch.fnmatchcase(unit, p) for p in PROTECTED)


def unit_name_problem(name: str) -> str | None:
    """Why a configured unit name or pattern may not be used (a sentence fragment), or None when it may."""
    if name.startswith("-"):
        return texts.UNIT_LOOKS_LIKE_OPTION
    if not _UNIT_CHARS.fullmatch(name):
        return texts.UNIT_BAD_CHARACTERS
    if is_protected(name) or (is_glob(name) and any(fnmatch.fnmatchcase(s, name) for s in _PROTECTED_SAMPLES)):
        return texts.UNIT_PROTECTED
    return None


def parse_list_units(stdout: str) -> list[str]:
    """Unit names from `systemctl list-units --all --plain --no-legend`: the first field of each line.

    Some systemd versions still put a "●" before failed or not-found units even with --plain; it is not a name.
    """
    names = []
    for line in stdout.splitlines():
        fields = line.split()
        if fields and fields[0] in ("●", "*"):
            fields = fields[1:]
        if fields:
            names.append(fields[0])
    return names
