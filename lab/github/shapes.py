"""All of GitHub's JSON shapes the simulated GitHub renders, in one object (`Shapes`)."""

from __future__ import annotations

from lab.github.shapes_actions import ActionShapes
from lab.github.shapes_app import AppShapes
from lab.github.shapes_issues import IssueShapes


class Shapes(ActionShapes, IssueShapes, AppShapes):
    """Renders the lab's state as GitHub JSON; `base` is the simulated GitHub's URL (API and web links)."""
