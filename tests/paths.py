"""Where the tests find their fixtures (inside the repository, so a fresh clone is self-sufficient)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
WEBHOOK_PAYLOADS = FIXTURES / "github-webhooks" / "payloads"
WEBHOOK_SCHEMAS = FIXTURES / "github-webhooks" / "schemas"

#: The report contract: the copy that travels with the tests, which is the shared one extended additively (issue 15:
#: `trigger`, `tracking_issue`, a null `pull_request` for a scheduled verification).
REPORT_SCHEMA = FIXTURES / "contracts" / "verification-report.schema.json"
