"""Logs carry request ids and never a secret; workflow_job deliveries and the runner poll feed /metrics."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from bot.logging import configure_logging
from bot.runner_poller import RunnerPoller
from tests.bot.conftest import WEBHOOK_SECRET, Bot
from tests.bot.github_api import INSTALLATION_TOKEN
from tests.support.payloads import load_fixture, pr_comment


def sample(text: str, name: str, labels: dict[str, str]) -> float | None:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return None


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(json=True, stream=stream)
    try:
        yield stream
    finally:
        structlog.reset_defaults()


async def test_logs_bind_request_ids_and_hold_no_secret(
    bot: Bot, log_stream: io.StringIO, private_key_pem: str
) -> None:
    await bot.deliver("issue_comment", pr_comment("/verify-staging"), delivery_id="delivery-1")
    await bot.deliver("issue_comment", pr_comment("/verify-staging"), secret="wrong-secret")
    await bot.settle()
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    accepted = next(line for line in lines if line["event"] == "verification accepted")
    assert accepted["delivery"] == "delivery-1"
    assert accepted["github_event"] == "issue_comment"
    assert accepted["installation"] == 1001
    assert accepted["verification"] == bot.engine.started[0].verification_id
    assert any(line["event"] == "delivery rejected" and line["reason"] == "signature" for line in lines)
    text = log_stream.getvalue()
    key_lines = [line for line in private_key_pem.splitlines() if "-----" not in line]
    for secret in [WEBHOOK_SECRET, INSTALLATION_TOKEN, "wrong-secret", *key_lines]:
        assert secret not in text


async def test_workflow_jobs_feed_duration_queue_and_runner_metrics(bot: Bot) -> None:
    started = load_fixture("workflow_job/in_progress.payload.json")
    done = load_fixture("workflow_job/completed.success.with-organization.payload.json")
    done["installation"] = {"id": 1001}
    done["workflow_job"]["runner_name"] = started["workflow_job"]["runner_name"]
    done["workflow_job"]["created_at"] = "2026-11-27T10:00:00Z"
    done["workflow_job"]["started_at"] = "2026-11-27T10:00:07Z"
    done["workflow_job"]["completed_at"] = "2026-11-27T10:02:07Z"
    runner = started["workflow_job"]["runner_name"]
    assert (await bot.deliver("workflow_job", started))[0] == 202
    await bot.settle()
    assert f'verify_staging_runner_busy{{runner="{runner}"}} 1.0' in bot.runtime.metrics.render().decode()
    assert (await bot.deliver("workflow_job", done))[0] == 202
    await bot.deliver("workflow_job", done)  # a second delivery of the same job must not count it twice
    await bot.settle()
    text = bot.runtime.metrics.render().decode()
    labels = {
        "repository": "Codertocat/Hello-World",
        "job": done["workflow_job"]["name"],
        "runner": runner,
        "conclusion": "success",
    }
    assert sample(text, "verify_staging_workflow_jobs_total", labels) == 1
    assert sample(text, "verify_staging_deployment_duration_seconds_bucket", {**labels, "le": "120.0"}) == 1
    assert sample(text, "verify_staging_deployment_duration_seconds_bucket", {**labels, "le": "60.0"}) == 0
    assert sample(text, "verify_staging_job_queue_seconds_sum", labels) == 7
    assert sample(text, "verify_staging_runner_busy", {"runner": runner}) == 0
    assert [j.status for j in bot.engine.jobs] == ["in_progress", "completed", "completed"]


async def test_runner_poll_sets_online_gauges(bot: Bot) -> None:
    poller = RunnerPoller(
        github=bot.runtime.github,
        metrics=bot.runtime.metrics,
        repositories=["paws360/paws360"],
        expected_runners=["production-runner-03"],
        interval=3600,
    )
    await poller.poll_once()
    text = bot.runtime.metrics.render().decode()
    assert 'verify_staging_runner_online{runner="production-runner-01"} 1.0' in text
    assert 'verify_staging_runner_online{runner="production-runner-02"} 0.0' in text
    assert 'verify_staging_runner_online{runner="production-runner-03"} 0.0' in text
    assert bot.github_api.sent("GET", r"/repos/paws360/paws360/installation")
