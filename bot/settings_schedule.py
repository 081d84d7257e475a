"""Reads `environments.<env>.schedule` (issue 15 §1) so a bad cron or repository stops start-up with one sentence."""

from __future__ import annotations

from collections.abc import Mapping

from bot.cron import Cron, CronError
from bot.model import SCENARIO_ORDER, ScenarioId
from bot.settings_model import EnvironmentSettings, RepositorySettings, ScheduleSettings
from bot.yaml_fields import Node, SettingsError, shown

SCHEDULE_KEYS = ("cron", "scenarios", "ref", "repository")


def parse_schedule(node: Node) -> ScheduleSettings | None:
    """The schedule in `node` (an environment's `schedule` mapping; empty: none). Its repository is checked
    against `github.repositories` by `check_schedule_repositories` once those are read."""
    if not node.data:
        return None
    node.only(SCHEDULE_KEYS)
    expression = node.string("cron", expected='a 5-field cron expression in UTC such as "0 3 * * *"')
    try:
        cron = Cron.parse(expression)
    except CronError as exc:
        raise SettingsError(
            f"{node.key_path('cron')} is {shown(expression)}, which is not a 5-field cron expression ({exc})."
        ) from None
    ids = [s.value for s in ScenarioId]
    wanted = node.strings("scenarios", tuple(ids))
    for scenario in wanted:
        if scenario not in ids:
            raise SettingsError(
                f"{node.key_path('scenarios')} names {shown(scenario)}; expected scenario ids ({', '.join(ids)})."
            )
    return ScheduleSettings(
        cron=cron.expression,
        repository=node.string("repository", expected="a repository of github.repositories as owner/name"),
        scenarios=tuple(s for s in SCENARIO_ORDER if s.value in wanted),
        ref=node.optional_string("ref", expected="a branch name, or null for the repository's default branch"),
        period=cron.period(),
    )


def check_schedule_repositories(
    environments: Mapping[str, EnvironmentSettings], repositories: Mapping[str, RepositorySettings]
) -> None:
    """Each schedule names a configured repository that verifies its own environment."""
    for name, environment in environments.items():
        schedule = environment.schedule
        if schedule is None:
            continue
        key = f"environments.{name}.schedule.repository"
        found = next((r for r in repositories if r.lower() == schedule.repository.lower()), None)
        if found is None:
            known = ", ".join(repositories) or "none"
            raise SettingsError(
                f"{key} is {shown(schedule.repository)}, which is not one of github.repositories ({known})."
            )
        if repositories[found].environment != name:
            raise SettingsError(
                f"{key} is {shown(schedule.repository)}, whose environment is "
                f"{repositories[found].environment}, not {name}; name a repository that verifies {name}."
            )
