"""The `/sre-signoff` command (placeholder router: the feature lands in its own change)."""

from __future__ import annotations

from gidgethub import routing

router = routing.Router()
