"""REST endpoint of the simulated GitHub for a branch: its head commit, as a scheduled verification asks for it
(`GET /repos/{owner}/{repo}/branches/{branch}`, https://docs.github.com/rest/branches/branches#get-a-branch)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lab.github.http import error
from lab.github.rest_actions import REPO, _sim

routes = web.RouteTableDef()


@routes.get(REPO + "/branches/{branch}")
async def get_branch(request: web.Request) -> web.Response:
    sim = _sim(request)
    branch = request.match_info["branch"]
    sha = sim.actions.branch_head(branch)
    if sha is None:
        return error(404, "Branch not found")
    return web.json_response(_branch(sim.shapes.repo_api, sim.shapes.repo_html, branch=branch, sha=sha))


def _branch(api: str, html: str, *, branch: str, sha: str) -> dict[str, Any]:
    """GitHub's `branch-with-protection` shape: the fields its schema requires, for an unprotected branch."""
    person = {"name": "Lab", "email": "lab@example.invalid", "date": "2026-01-01T00:00:00Z"}
    return {
        "name": branch,
        "commit": {
            "sha": sha,
            "node_id": f"C_{sha[:16]}",
            "url": f"{api}/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "author": person,
                "committer": person,
                "message": "lab commit",
                "comment_count": 0,
                "tree": {"sha": sha[::-1], "url": f"{api}/git/trees/{sha[::-1]}"},
                "url": f"{api}/git/commits/{sha}",
            },
            "author": None,
            "committer": None,
            "parents": [],
        },
        "_links": {"self": f"{api}/branches/{branch}", "html": f"{html}/tree/{branch}"},
        "protected": False,
        "protection": {"enabled": False},
        "protection_url": f"{api}/branches/{branch}/protection",
    }
