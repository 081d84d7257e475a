"""The doctor's GitHub checks: the App's JWT, its installation on each repository with the permissions and events
app.yml asks for, the deployment workflow on the default branch, and each configured runner."""

from __future__ import annotations

from typing import Protocol

from bot.doctor.manifest import REQUIRED_PERMISSIONS, missing_events, missing_permissions
from bot.doctor.result import CheckResult, ok, problem
from bot.doctor.workflow_file import WorkflowUnreadable, read_workflow, undeclared
from bot.github.app_info import AppFacts, AppGrants, InstallationFacts
from bot.ports import GitHubApp, GitHubError
from bot.settings import EnvironmentSettings
from bot.texts import doctor as texts

WORKFLOWS_DIR = ".github/workflows/"


class AppDirectory(Protocol):
    """The App's facts through its JWT (bot/github/app_info.py)."""

    async def app(self) -> AppFacts: ...

    async def installation(self, repository: str) -> InstallationFacts: ...


async def check_app(directory: AppDirectory) -> tuple[list[CheckResult], AppFacts | None]:
    try:
        facts = await directory.app()
    except GitHubError as exc:
        return [problem(texts.APP_WHAT, texts.APP_FIX.format(error=exc))], None
    return [ok(texts.APP.format(slug=facts.slug))], facts


async def check_installation(
    directory: AppDirectory, github: GitHubApp, *, repository: str, app: AppFacts | None, env: EnvironmentSettings
) -> list[CheckResult]:
    """Installed, granted enough, subscribed to enough; then (with its token) the workflow file and the runners."""
    try:
        inst = await directory.installation(repository)
    except GitHubError as exc:
        fix = texts.INSTALLED_FIX.format(error=exc, repository=repository)
        return [problem(texts.INSTALLED_WHAT.format(repository=repository), fix)]
    results = [ok(texts.INSTALLED.format(repository=repository, installation=inst.id))]
    results += grants(repository, inst.grants or (app.grants if app else None))
    repo = github.repo(installation_id=inst.id, repository=repository)
    results.append(await check_workflow(repo_file=repo.get_file, repository=repository, env=env))
    try:
        runners = await repo.list_runners()
    except GitHubError as exc:
        return [*results, *(problem(_runner_what(r.name, repository), str(exc)) for r in env.runners)]
    by_name = {r.name: r for r in runners}
    for wanted in env.runners:
        what = _runner_what(wanted.name, repository)
        found = by_name.get(wanted.name)
        if found is None:
            registered = ", ".join(sorted(by_name)) or texts.NONE
            results.append(problem(what, texts.RUNNER_MISSING.format(registered=registered, name=wanted.name)))
            continue
        lacking = [label for label in wanted.labels if label not in found.labels]
        if lacking:
            fix = texts.RUNNER_LABELS.format(
                missing=", ".join(lacking),
                labels=", ".join(found.labels),
                s="" if len(lacking) == 1 else "s",
                them="it" if len(lacking) == 1 else "them",
            )
            results.append(problem(what, fix))
        elif not found.online:
            results.append(problem(what, texts.RUNNER_OFFLINE))
        else:
            labels = ", ".join(wanted.labels)
            results.append(ok(texts.RUNNER.format(name=wanted.name, repository=repository, labels=labels)))
    return results


def _runner_what(name: str, repository: str) -> str:
    return texts.RUNNER_WHAT.format(name=name, repository=repository)


def grants(repository: str, granted: AppGrants | None) -> list[CheckResult]:
    what_p, what_e = texts.PERMISSIONS.format(repository=repository), texts.EVENTS.format(repository=repository)
    if granted is None:
        reason = "GitHub reported neither permissions nor events for the App"
        return [problem(what_p, reason), problem(what_e, reason)]
    results = []
    lacking = missing_permissions(granted.permissions)
    if lacking:
        missing = "; ".join(
            texts.PERMISSION_SHORT.format(name=n, wanted=REQUIRED_PERMISSIONS[n], granted=have)
            for n, have in lacking.items()
        )
        results.append(problem(what_p, texts.PERMISSIONS_FIX.format(missing=missing)))
    else:
        results.append(ok(what_p))
    unsubscribed = missing_events(granted.events)
    if unsubscribed:
        results.append(problem(what_e, texts.EVENTS_FIX.format(missing=", ".join(unsubscribed))))
    else:
        results.append(ok(what_e))
    return results


class FileReader(Protocol):
    async def __call__(self, path: str, *, ref: str | None = None) -> str | None: ...


async def check_workflow(*, repo_file: FileReader, repository: str, env: EnvironmentSettings) -> CheckResult:
    """The workflow as GitHub dispatches it: from the default branch (`ref` None reads that branch)."""
    workflow = env.workflow
    path = WORKFLOWS_DIR + workflow.file
    what = texts.WORKFLOW_WHAT.format(path=path, repository=repository)
    try:
        text = await repo_file(path)
    except GitHubError as exc:
        return problem(what, str(exc))
    if text is None:
        return problem(what, texts.WORKFLOW_MISSING)
    try:
        facts = read_workflow(text, deploy_job=workflow.jobs.deploy)
    except WorkflowUnreadable as exc:
        return problem(what, texts.WORKFLOW_UNREADABLE.format(error=exc))
    wanted = [*workflow.inputs, workflow.test_id_input]
    if not facts.dispatchable:
        return problem(what, texts.WORKFLOW_NO_DISPATCH)
    absent = undeclared(facts, wanted)
    if absent:
        return problem(what, texts.WORKFLOW_NO_INPUT.format(names=", ".join(absent)))
    if not facts.concurrency:
        return problem(what, texts.WORKFLOW_NO_CONCURRENCY)
    return ok(texts.WORKFLOW.format(path=path, repository=repository, inputs=workflow.test_id_input))
