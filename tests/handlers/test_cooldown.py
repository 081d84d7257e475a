"""The command cooldown's window on virtual time: one reply inside it, silence after that, a fresh start after it."""

from __future__ import annotations

from handlers.cooldown import MAX_REMEMBERED, Admission, CommandCooldown
from tests.fakes.clock import FakeClock


def test_the_window_runs_from_the_last_handled_command_per_repository_and_person() -> None:
    clock = FakeClock()
    cooldown = CommandCooldown(seconds=10, clock=clock)
    admit = cooldown.admit
    assert admit(repository="o/r", user="alice") is Admission.HANDLE
    clock.advance(3)
    assert admit(repository="o/r", user="alice") is Admission.TELL
    assert admit(repository="O/R", user="Alice") is Admission.QUIET  # GitHub's names are case-insensitive
    assert admit(repository="o/other", user="alice") is Admission.HANDLE
    assert admit(repository="o/r", user="bob") is Admission.HANDLE
    clock.advance(6.9)
    assert admit(repository="o/r", user="alice") is Admission.QUIET
    clock.advance(0.1)
    assert admit(repository="o/r", user="alice") is Admission.HANDLE
    assert admit(repository="o/r", user="alice") is Admission.TELL  # told again in the new window


def test_people_whose_window_ended_are_forgotten_when_many_are_remembered() -> None:
    clock = FakeClock()
    cooldown = CommandCooldown(seconds=10, clock=clock)
    for i in range(MAX_REMEMBERED):
        cooldown.admit(repository="o/r", user=f"user-{i}")
    clock.advance(11)
    assert cooldown.admit(repository="o/r", user="one-more") is Admission.HANDLE
    assert len(cooldown._last) == 1
