"""GitHub's permission ladder: who reaches the permission the settings require to run verifications."""

from __future__ import annotations

from bot.permissions import Permission, has_at_least


def test_the_ladder_runs_from_admin_down_to_none() -> None:
    assert list(Permission) == ["admin", "maintain", "write", "triage", "read", "none"]
    assert Permission.MAINTAIN.at_least(Permission.WRITE) and not Permission.MAINTAIN.at_least(Permission.ADMIN)
    assert Permission.TRIAGE.at_least(Permission.READ) and not Permission.TRIAGE.at_least(Permission.WRITE)
    assert all(p.at_least(p) for p in Permission)


def test_a_custom_role_or_no_access_reaches_no_required_permission() -> None:
    assert Permission.grantable() == tuple(p for p in Permission if p != "none")
    for minimum in Permission.grantable():
        assert not has_at_least("release-manager", minimum)
        assert not has_at_least("none", minimum)
    assert has_at_least("admin", Permission.ADMIN)
