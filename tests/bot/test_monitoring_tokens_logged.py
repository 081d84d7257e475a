"""The monitoring tokens (issue 14 §1) never reach a log line: `serve` registers them with the log redactor at
start, so a line that happens to carry one (an exception quoting a request, say) shows `[redacted]`."""

from __future__ import annotations

import dataclasses
import io
import json

import structlog

from bot.logging import REDACTED, configure_logging
from bot.settings import Settings
from tests.bot.conftest import running_bot

TOKENS = {
    "grafana_token": "glsa_grafana_logged_0123456789",
    "prometheus_token": "prometheus-logged-0123456789",
    "alertmanager_token": "alertmanager-logged-0123456789",
}


async def test_serve_masks_every_monitoring_token_in_its_logs(settings: Settings) -> None:
    with_tokens = dataclasses.replace(settings, secrets=dataclasses.replace(settings.secrets, **TOKENS))
    out = io.StringIO()
    configure_logging(json=True, stream=out)
    async with running_bot(with_tokens):
        structlog.get_logger("test").warning(
            "monitoring refused", request=f"Authorization: Bearer {TOKENS['grafana_token']}", **TOKENS
        )
    line = next(json.loads(x) for x in out.getvalue().splitlines() if '"monitoring refused"' in x)
    assert not any(token in out.getvalue() for token in TOKENS.values())
    assert line["request"] == f"Authorization: Bearer {REDACTED}"
    assert {line[key] for key in TOKENS} == {REDACTED}
