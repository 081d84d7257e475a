"""`environments.<env>.schedule`: read with its defaults; a bad cron or repository stops start-up with one sentence
naming the key (which `serve` prints as it exits 2, tests/bot/test_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.model import SCENARIO_ORDER, ScenarioId
from bot.settings import SettingsError, load_settings
from tests.support.settings import EXAMPLE_SETTINGS


def with_schedule(tmp_path: Path, schedule: object) -> Path:
    raw = yaml.safe_load(EXAMPLE_SETTINGS.read_text())
    raw["environments"]["staging"]["schedule"] = schedule
    path = tmp_path / "settings.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_schedule_is_read_with_all_scenarios_and_the_default_branch_by_default(
    tmp_path: Path, secret_env: dict[str, str]
) -> None:
    path = with_schedule(tmp_path, {"cron": "0  3 * * 1-5", "repository": "PAWS360/paws360"})
    schedule = load_settings(str(path), secret_env).environments["staging"].schedule
    assert schedule is not None
    assert (schedule.cron, schedule.repository, schedule.ref) == ("0 3 * * 1-5", "PAWS360/paws360", None)
    assert schedule.scenarios == SCENARIO_ORDER


def test_a_schedule_may_pick_scenarios_and_a_branch(tmp_path: Path, secret_env: dict[str, str]) -> None:
    path = with_schedule(
        tmp_path,
        {"cron": "* * * * *", "repository": "paws360/paws360", "scenarios": ["failover", "normal-deploy"], "ref": "rc"},
    )
    schedule = load_settings(str(path), secret_env).environments["staging"].schedule
    assert schedule is not None
    assert schedule.scenarios == (ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER)  # in the engine's order
    assert schedule.ref == "rc"


def test_the_example_settings_have_no_schedule(secret_env: dict[str, str]) -> None:
    assert load_settings(str(EXAMPLE_SETTINGS), secret_env).environments["staging"].schedule is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            {"cron": "61 * * * *", "repository": "paws360/paws360"},
            "environments.staging.schedule.cron is '61 * * * *', which is not a 5-field cron expression (",
        ),
        (
            {"cron": "0 0 3 * * *", "repository": "paws360/paws360"},
            "environments.staging.schedule.cron is '0 0 3 * * *', which is not a 5-field cron expression (it has 6",
        ),
        (
            {"cron": "@daily-ish", "repository": "paws360/paws360"},
            "environments.staging.schedule.cron is '@daily-ish', which is not a 5-field cron expression (",
        ),
        (
            {"cron": "* * * * *", "repository": "paws360/other"},
            "environments.staging.schedule.repository is 'paws360/other', which is not one of github.repositories "
            "(paws360/paws360).",
        ),
        ({"repository": "paws360/paws360"}, "environments.staging.schedule.cron is missing; expected a 5-field cron"),
        (
            {"cron": "* * * * *", "repository": "paws360/paws360", "scenarios": ["chaos"]},
            "environments.staging.schedule.scenarios names 'chaos'; expected scenario ids (",
        ),
        (
            {"cron": "* * * * *", "repository": "paws360/paws360", "every": "day"},
            "environments.staging.schedule.every is not a known setting; expected one of: cron, scenarios, ref,",
        ),
    ],
)
def test_a_bad_schedule_is_one_sentence_naming_the_key(
    tmp_path: Path, secret_env: dict[str, str], schedule: object, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(str(with_schedule(tmp_path, schedule)), secret_env)
    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)
