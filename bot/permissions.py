"""Who may run verifications: GitHub's repository permission ladder, and how one rung compares with another.

Settings name the least permission that may run `/verify-staging`; GitHub answers each person's permission;
this module is the one place that knows which of the two is higher.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """A repository role as GitHub's `role_name` spells it, highest first; `maintain` and `triage` sit between the
    legacy admin/write/read levels."""

    ADMIN = "admin"
    MAINTAIN = "maintain"
    WRITE = "write"
    TRIAGE = "triage"
    READ = "read"
    NONE = "none"

    @classmethod
    def named(cls, name: str) -> Permission | None:
        """The rung called `name`; None for a name off the ladder (an organization's custom role)."""
        try:
            return cls(name)
        except ValueError:
            return None

    @classmethod
    def grantable(cls) -> tuple[Permission, ...]:
        """The rungs a setting may require: every one but `none`, which anybody has."""
        return tuple(p for p in cls if p is not cls.NONE)

    def at_least(self, minimum: Permission) -> bool:
        """Whether this rung is `minimum` or higher."""
        ladder = list(Permission)
        return ladder.index(self) <= ladder.index(minimum)


def has_at_least(permission: str, minimum: Permission) -> bool:
    """Whether the permission GitHub answered reaches `minimum`; a name off the ladder reaches nothing."""
    rung = Permission.named(permission)
    return rung is not None and rung.at_least(minimum)
