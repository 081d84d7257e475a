"""Check-run buttons and re-runs (placeholder router: the feature lands in its own change)."""

from __future__ import annotations

from gidgethub import routing

router = routing.Router()
