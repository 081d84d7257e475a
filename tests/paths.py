"""Where the tests find their fixtures (inside the repository, so a fresh clone is self-sufficient)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
WEBHOOK_PAYLOADS = FIXTURES / "github-webhooks" / "payloads"
WEBHOOK_SCHEMAS = FIXTURES / "github-webhooks" / "schemas"

#: The report contract: the live one beside the repository when it is there (a changed contract is then caught
#: at once), else the copy that travels with the tests.
_CONTRACT = REPO_ROOT.parent / "shared" / "contracts" / "verification-report.schema.json"
REPORT_SCHEMA = _CONTRACT if _CONTRACT.exists() else FIXTURES / "contracts" / "verification-report.schema.json"
