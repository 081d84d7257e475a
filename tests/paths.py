"""Where the tests find their fixtures (inside the repository, so a fresh clone is self-sufficient)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WEBHOOK_PAYLOADS = FIXTURES / "github-webhooks" / "payloads"
WEBHOOK_SCHEMAS = FIXTURES / "github-webhooks" / "schemas"
REPORT_SCHEMA = FIXTURES / "contracts" / "verification-report.schema.json"
