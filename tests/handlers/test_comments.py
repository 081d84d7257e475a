"""The /verify-staging command end to end: a signed PR-comment delivery in, the GitHub requests the bot sent out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.github.models import PullRequest
from bot.model import SCENARIO_ORDER, ScenarioId, Verification
from bot.reporting.escape import md_text
from bot.settings import AuthorizationSettings, JiraSettings
from bot.texts import commands as texts
from bot.texts import history as history_texts
from bot.texts import safety
from handlers.policy import jira_issue_for
from scenarios import EngineBusy
from tests.bot.conftest import DOCTOR_SUMMARY, Bot
from tests.bot.github_api import INSTALLATION_TOKEN, REPOSITORY
from tests.support.history import FAILOVER, failover_run, record
from tests.support.payloads import pr_comment
from tests.support.texts import pattern

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
    assert pattern(
        texts.ALREADY_RUNNING, user="alice-admin", environment="staging", verification_id="vs-running"
    ).fullmatch(reply)
    assert bot.engine.started == []


async def test_dry_run_replies_with_the_plan_and_starts_nothing(bot: Bot) -> None:
    await comment(bot, "/verify-staging failover --dry-run")
    [reply] = replies(bot)
    assert reply.startswith(texts.DRY_RUN_HEADER.format(environment="staging", head_sha="a" * 12))
    assert "`sudo systemctl stop 'actions.runner.*.service'`" in reply
    assert "deploy@10.0.1.11:22" in reply
    assert "failover 30 s" in reply
    # The installation check's summary ends it.
    assert reply.endswith(DOCTOR_SUMMARY)
    assert bot.engine.started == []


async def running_in_staging(bot: Bot, *, repository: str, verification_id: str = "vs-running") -> None:
    """A verification running in `staging`, stored as the engine stores it before it starts."""
    await bot.runtime.store.save_verification(
        Verification(
            verification_id=verification_id, installation_id=1001, repository=repository, pull_request=7,
            head_sha="b" * 40, ref="main", environment="staging", requested_by="carol-admin", scenarios=[],
        )
    )  # fmt: skip
    bot.engine.busy["staging"] = verification_id


async def test_status_and_abort(bot: Bot) -> None:
    await comment(bot, "/verify-staging status")
    assert replies(bot) == [texts.STATUS_NONE]
    await comment(bot, "/verify-staging abort")
    assert replies(bot)[-1] == texts.ABORT_NOTHING.format(user="alice-admin", environment="staging")
    await running_in_staging(bot, repository=REPOSITORY.upper())  # GitHub's names are case-insensitive
    await comment(bot, "/verify-staging abort")
    assert bot.engine.aborted == [("vs-running", "alice-admin")]
    assert replies(bot)[-1] == texts.ABORT_REQUESTED.format(user="alice-admin", verification_id="vs-running")


async def test_history_replies_with_the_repositorys_last_verifications_and_trends(bot: Bot) -> None:
    """Issue 15 §2: `/verify-staging history` lists this repository's latest verifications of its environment
    (another repository sharing the environment is left out) and a sparkline per measurement."""
    await comment(bot, "/verify-staging history")
    assert replies(bot) == [history_texts.HISTORY_NONE.format(environment="staging")]
    runs = [failover_run(i, latency, repository=REPOSITORY) for i, latency in enumerate((4.0, 6.0, 12.0), 1)]
    runs.append(failover_run(4, 99.0, repository="paws360/other-service"))
    runs.append(failover_run(5, None, passed=False, repository=REPOSITORY, ref="x`|<b>y"))
    await record(bot.runtime.store, *runs)
    await comment(bot, "/verify-staging history", user="bob-reader")  # reading history needs no permission
    reply = replies(bot)[-1]
    assert reply.startswith(history_texts.HISTORY_HEADER.format(environment="staging", count=4))
    assert "vs-h004" not in reply
    assert [line.split(" | ")[1] for line in reply.splitlines() if "`vs-h" in line] == [
        "`vs-h005`", "`vs-h003`", "`vs-h002`", "`vs-h001`",
    ]  # fmt: skip
    assert "| ``x`\\|<b>y`` |" in reply  # the ref as a code span, its pipe unable to split the table
    assert f"| failover | {md_text(FAILOVER)} | `▁▃█·` ✓✓✓✗ | — | 6.0 s |" in reply


async def test_an_engine_refusal_is_replied_with_its_reason(bot: Bot) -> None:
    """issue 12: a pending undo (or another environment's verification on the same host) refuses the start, and the
    person who asked is told why instead of hearing nothing."""
    reason = safety.UNDO_PENDING_REFUSED.format(
        undo="sudo systemctl start paws360-backend", host="staging-backend-host", verification_id="v-old",
        error="staging-backend-host: connection refused", interval=30,
    )  # fmt: skip
    bot.engine.refusal = EngineBusy(reason)
    await comment(bot, "/verify-staging rollback")
    assert bot.engine.started == []
    [reply] = replies(bot)
    assert pattern(texts.START_FAILED, user="alice-admin", error=reason).fullmatch(reply)


async def test_abort_from_another_repository_sharing_the_environment_is_refused(bot: Bot) -> None:
    await running_in_staging(bot, repository="paws360/other-service")
    await comment(bot, "/verify-staging abort")
    assert bot.engine.aborted == []
    assert replies(bot) == [texts.ABORT_OTHER_REPOSITORY.format(user="alice-admin", environment="staging")]


async def test_commands_faster_than_the_cooldown_get_one_reply_then_silence(bot: Bot) -> None:
    await comment(bot, "/verify-staging status")
    first_requests = len(bot.command_requests())
    await comment(bot, "/verify-staging status")
    await comment(bot, "/verify-staging help")
    await comment(bot, "/verify-staging")
    cooldown = texts.COMMAND_COOLDOWN.format(user="alice-admin", seconds=10)
    assert replies(bot) == [texts.STATUS_NONE, cooldown]
    # The ignored ones cost nothing: no reaction, no permission check; only the one reply.
    assert bot.command_requests()[first_requests:] == [REPLY]
    assert bot.engine.started == []
    # Someone else is not held back, and an abort always gets through.
    await comment(bot, "/verify-staging status", user="bob-reader")
    await comment(bot, "/verify-staging abort")
    assert replies(bot)[2:] == [
        texts.STATUS_NONE,
        texts.ABORT_NOTHING.format(user="alice-admin", environment="staging"),
    ]


async def test_a_jira_key_of_another_project_in_the_title_is_never_touched(bot: Bot) -> None:
    """Issue 12 §6: the PR's author writes its title; `SEC-4711 cleanup` must not reach SEC-4711."""
    bot.github_api.pr_title = "SEC-4711 cleanup"
    await comment(bot, "/verify-staging normal-deploy")
    [request] = bot.engine.started
    assert request.jira_issue == "INFRA-473"
    assert request.title == "SEC-4711 cleanup"


def test_only_keys_of_the_configured_projects_are_taken() -> None:
    def pull(title: str, branch: str = "main") -> PullRequest:
        return PullRequest(42, title, "open", "a" * 40, branch, REPOSITORY, REPOSITORY, None)

    default = JiraSettings(issue="INFRA-473")
    assert jira_issue_for(pull("SEC-4711 and INFRA-12: fix"), default) == "INFRA-12"
    assert jira_issue_for(pull("XINFRA-12 tidy", "sec-1"), default) == "INFRA-473"
    assert jira_issue_for(pull("tidy", "feature/INFRA-99-runners"), default) == "INFRA-99"
    ops = JiraSettings(issue="INFRA-473", projects=("OPS",))
    assert jira_issue_for(pull("INFRA-12 OPS-7"), ops) == "OPS-7"
    assert jira_issue_for(pull("nothing"), JiraSettings(issue=None)) is None


async def test_a_command_that_arrives_hours_late_is_not_run_and_its_author_is_told(bot: Bot) -> None:
    # A delivery redelivered after the App was down carries the comment as it was posted, two hours ago.
    posted = datetime.now(UTC) - timedelta(hours=2)
    sent = await comment(bot, "/verify-staging failover", created_at=posted)
    assert sent == [REPLY]
    [reply] = replies(bot)
    assert reply == texts.STALE_COMMAND.format(user="alice-admin", age="2 h")
    assert bot.engine.started == []


async def test_a_command_within_the_max_age_still_runs(bot: Bot) -> None:
    max_age = AuthorizationSettings().command_max_age  # the test settings keep the default
    await comment(bot, "/verify-staging failover", created_at=datetime.now(UTC) - timedelta(seconds=max_age - 60))
    assert [r.scenarios for r in bot.engine.started] == [(ScenarioId.FAILOVER,)]
