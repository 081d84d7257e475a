"""The /verify-staging command end to end: a signed PR-comment delivery in, the GitHub requests the bot sent out."""

from __future__ import annotations

from bot.model import SCENARIO_ORDER, ScenarioId
from bot.texts import commands as texts
from tests.bot.conftest import Bot, pr_comment
from tests.bot.github_api import INSTALLATION_TOKEN, REPOSITORY

REACTION = f"POST /repos/{REPOSITORY}/issues/comments/555/reactions"
PERMISSION = "GET /repos/{repo}/collaborators/{user}/permission"
PULL = f"GET /repos/{REPOSITORY}/pulls/42"
REPLY = f"POST /repos/{REPOSITORY}/issues/42/comments"


async def comment(bot: Bot, body: str, **kwargs: object) -> list[str]:
    status, _ = await bot.deliver("issue_comment", pr_comment(body, **kwargs))  # type: ignore[arg-type]
    assert status in (200, 202)
    await bot.settle()
    return bot.command_requests()


def replies(bot: Bot) -> list[str]:
    return [str(r.body["body"]) for r in bot.github_api.sent("POST", r"/repos/.+/issues/42/comments")]


async def test_authorized_comment_starts_a_verification(bot: Bot) -> None:
    sent = await comment(bot, "/verify-staging failover normal-deploy")
    assert sent == [REACTION, PERMISSION.format(repo=REPOSITORY, user="alice-admin"), PULL]
    reaction = bot.github_api.sent("POST", r".*/reactions")[0]
    assert reaction.body == {"content": "eyes"}
    assert reaction.headers["authorization"] == f"token {INSTALLATION_TOKEN}"
    assert reaction.headers["x-github-api-version"] == "2022-11-28"
    [request] = bot.engine.started
    assert request.scenarios == (ScenarioId.NORMAL_DEPLOY, ScenarioId.FAILOVER)
    assert (request.repository, request.pull_request, request.installation_id) == (REPOSITORY, 42, 1001)
    # The full ref: a tag named like the branch must not be what the dispatch runs.
    assert (request.head_sha, request.ref) == ("a" * 40, "refs/heads/001-github-runner-deploy")
    assert request.environment == "staging"
    assert (request.requested_by, request.comment_id, request.jira_issue) == ("alice-admin", 555, "INFRA-473")


async def test_bare_command_runs_all_five(bot: Bot) -> None:
    await comment(bot, "Looks good.\n/verify-staging\n")
    assert bot.engine.started[0].scenarios == SCENARIO_ORDER


async def test_unauthorized_user_is_told_who_may_run_it(bot: Bot) -> None:
    sent = await comment(bot, "/verify-staging", user="bob-reader")
    assert sent == [REACTION, PERMISSION.format(repo=REPOSITORY, user="bob-reader"), REPLY]
    assert replies(bot) == [
        texts.NOT_AUTHORIZED.format(user="bob-reader", minimum="admin", permission="read"),
    ]
    assert bot.engine.started == []


async def test_fork_pull_request_is_refused_with_the_reason(bot: Bot) -> None:
    bot.github_api.head_repo = "mallory/paws360"
    sent = await comment(bot, "/verify-staging")
    assert sent == [REACTION, PERMISSION.format(repo=REPOSITORY, user="alice-admin"), PULL, REPLY]
    assert replies(bot) == [
        texts.FORK_REFUSED.format(user="alice-admin", head_repo="mallory/paws360", base_repo=REPOSITORY)
    ]
    assert bot.engine.started == []


async def test_edited_comment_bot_comment_and_plain_issue_are_ignored(bot: Bot) -> None:
    await comment(bot, "/verify-staging", action="edited")
    await comment(bot, "/verify-staging", user="verify-staging[bot]", user_type="Bot")
    await comment(bot, "/verify-staging", user="someone", user_type="Bot")
    await comment(bot, "/verify-staging", on_pull_request=False)
    assert bot.command_requests() == []
    assert bot.engine.started == []


async def test_malformed_command_gets_help(bot: Bot) -> None:
    sent = await comment(bot, "/verify-staging failover --force")
    assert sent == [REACTION, REPLY]
    [reply] = replies(bot)
    assert reply.startswith(texts.UNKNOWN_WORD.format(word="--force"))
    assert "`/verify-staging abort`" in reply
    assert bot.engine.started == []


async def test_second_request_gets_a_link_to_the_running_one(bot: Bot) -> None:
    bot.engine.busy["staging"] = "vs-running"
    await comment(bot, "/verify-staging")
    [reply] = replies(bot)
    assert reply.startswith("@alice-admin a verification is already running in `staging`: `vs-running`")
    assert bot.engine.started == []


async def test_dry_run_replies_with_the_plan_and_starts_nothing(bot: Bot) -> None:
    await comment(bot, "/verify-staging failover --dry-run")
    [reply] = replies(bot)
    assert reply.startswith(texts.DRY_RUN_HEADER.format(environment="staging", head_sha="a" * 12))
    assert "`sudo systemctl stop 'actions.runner.*.service'`" in reply
    assert "deploy@10.0.1.11:22" in reply
    assert "failover 30 s" in reply
    assert bot.engine.started == []


async def test_status_and_abort(bot: Bot) -> None:
    await comment(bot, "/verify-staging status")
    assert replies(bot) == [texts.STATUS_NONE]
    await comment(bot, "/verify-staging abort")
    assert replies(bot)[-1] == texts.ABORT_NOTHING.format(user="alice-admin", environment="staging")
    bot.engine.busy["staging"] = "vs-running"
    await comment(bot, "/verify-staging abort")
    assert bot.engine.aborted == [("vs-running", "alice-admin")]
    assert replies(bot)[-1] == texts.ABORT_REQUESTED.format(user="alice-admin", verification_id="vs-running")
