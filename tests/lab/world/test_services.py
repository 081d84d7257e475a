"""Stand-in services through their HTTP faces: JIRA with the `jira` library, backend, frontend, Grafana auth."""

from __future__ import annotations

import asyncio
import io
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from jira import JIRA, JIRAError

from bot.adapters.jira import JiraClient
from bot.ports import JiraAttachment
from lab.services import launch
from lab.units import ProcessSpec, free_port, spawn, terminate
from tests.lab.world.conftest import running_service

JIRA_CONFIG = {
    "token": "lab-jira-token",
    "user": "verify-staging",
    "password": "pw",
    "issue": "INFRA-473",
    "summary": "runner deployment",
    "status": "To Do",
}


def _walk_the_workflow(url: str) -> list[str]:
    jira = JIRA(server=url, token_auth="lab-jira-token")
    seen = [jira.issue("INFRA-473").fields.status.name]
    for target in ("In Progress", "In Review", "Done"):
        offered = {t["to"]["name"]: t["id"] for t in jira.transitions("INFRA-473")}
        jira.transition_issue("INFRA-473", offered[target], comment=f"moving to {target}")
        seen.append(jira.issue("INFRA-473").fields.status.name)
    jira.transition_issue("INFRA-473", "Reopen")
    seen.append(jira.issue("INFRA-473").fields.status.name)
    jira.add_comment("INFRA-473", "verification passed")
    seen.append(str(len(jira.comments("INFRA-473"))))
    return seen


async def test_jira_library_walks_the_workflow(tmp_path: Path) -> None:
    async with running_service(tmp_path, "jira", JIRA_CONFIG) as url:
        seen = await asyncio.to_thread(_walk_the_workflow, url)
    assert seen == ["To Do", "In Progress", "In Review", "Done", "To Do", "4"]


def _invalid_transition(url: str) -> tuple[int | None, list[str], list[str]]:
    jira = JIRA(server=url, basic_auth=("verify-staging", "pw"))
    offered = [t["name"] for t in jira.transitions("INFRA-473")]
    with pytest.raises(JIRAError) as caught:
        jira.transition_issue("INFRA-473", 31)  # Done, not offered from To Do; sent as an int
    assert caught.value.response is not None
    body = caught.value.response.json()
    return caught.value.status_code, offered, [*body["errorMessages"], str(body["errors"])]


async def test_jira_refuses_a_transition_the_status_does_not_offer(tmp_path: Path) -> None:
    async with running_service(tmp_path, "jira", JIRA_CONFIG) as url:
        status, offered, messages = await asyncio.to_thread(_invalid_transition, url)
        wrong_token = requests.get(
            url + "/rest/api/2/issue/INFRA-473", headers={"Authorization": "Bearer nope"}, timeout=5
        )
    assert status == 400
    assert offered == ["Start Progress"]
    assert messages == ["Transition id '31' is not valid for this issue.", "{}"]
    assert wrong_token.status_code == 401


def _attachments_with_the_library(url: str) -> dict[str, object]:
    """Upload, list, download and delete as a script using the `jira` library would; and a bare POST without
    the XSRF header."""
    jira = JIRA(server=url, token_auth="lab-jira-token")
    report = b"# verify-staging report\n\nAll passed.\n"
    added = jira.add_attachment("INFRA-473", attachment=io.BytesIO(report), filename="v-1-report.md")
    listed = jira.issue("INFRA-473", fields="attachment").fields.attachment
    downloaded = requests.get(listed[0].content, headers={"Authorization": "Bearer lab-jira-token"}, timeout=10)
    without_header = requests.post(
        f"{url}/rest/api/2/issue/INFRA-473/attachments",
        files={"file": ("x.md", b"x")},
        headers={"Authorization": "Bearer lab-jira-token"},
        timeout=10,
    )
    by_library = listed[0].get()
    jira.delete_attachment(added.id)
    return {
        "listed": [(a.filename, a.size, a.mimeType, a.author.name) for a in listed],
        "downloaded": downloaded.content,
        "also by get": by_library,
        "without header": (without_header.status_code, without_header.text),
        "after delete": jira.issue("INFRA-473", fields="attachment").fields.attachment,
    }


async def test_jira_attachments_as_the_library_uses_them(tmp_path: Path) -> None:
    async with running_service(tmp_path, "jira", JIRA_CONFIG) as url:
        seen = await asyncio.to_thread(_attachments_with_the_library, url)
    report = b"# verify-staging report\n\nAll passed.\n"
    assert seen["listed"] == [("v-1-report.md", len(report), "text/markdown", "verify-staging")]
    assert seen["downloaded"] == report
    assert seen["also by get"] == report
    assert seen["without header"] == (403, "XSRF check failed")
    assert seen["after delete"] == []


async def test_the_bots_jira_adapter_attaches_lists_and_deletes_on_the_lab_jira(tmp_path: Path) -> None:
    async with running_service(tmp_path, "jira", JIRA_CONFIG) as url:
        client = JiraClient(url=url, token="lab-jira-token")
        added = await client.add_attachment("INFRA-473", filename="verify-staging-v-1-verification.json", content=b"{}")
        listed = await client.attachments("INFRA-473")
        await client.delete_attachment(added.id)
        after = await client.attachments("INFRA-473")
    assert listed == [JiraAttachment(id=added.id, filename="verify-staging-v-1-verification.json", size=2, mine=True)]
    assert after == []


async def test_backend_reports_redis_down_with_503_and_frontend_shows_version(tmp_path: Path) -> None:
    release = tmp_path / "release"
    release.mkdir()
    (release / "current").write_text("2.3.4")
    async with (
        running_service(tmp_path, "backend", {"release_dir": str(release), "redis_up": False}) as backend,
        running_service(tmp_path, "frontend", {"release_dir": str(release)}) as frontend,
    ):
        health = requests.get(backend + "/actuator/health", timeout=5)
        info = requests.get(backend + "/actuator/info", timeout=5).json()
        home = requests.get(frontend + "/", timeout=5)
        served = requests.get(frontend + "/version", timeout=5).json()
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "DOWN"
    assert body["components"]["redis"]["status"] == "DOWN"
    assert body["components"]["db"]["status"] == "UP"
    assert set(body["components"]) >= {"db", "redis", "diskSpace"}
    assert info["build"]["version"] == "2.3.4"
    assert home.status_code == 200
    assert "2.3.4" in home.text
    assert served == {"version": "2.3.4"}


async def test_grafana_serves_the_dashboard_and_refuses_a_wrong_or_missing_token(tmp_path: Path) -> None:
    dashboard = tmp_path / "dashboard.json"
    dashboard.write_text('{"uid": "verify-staging-runners", "title": "Runners", "panels": []}')
    config = {
        "token": "glsa_lab",
        "prometheus_url": "http://127.0.0.1:9",
        "dashboard_path": str(dashboard),
        "dashboard_uid": "verify-staging-runners",
    }
    async with running_service(tmp_path, "grafana", config) as url:
        good = {"Authorization": "Bearer glsa_lab"}
        board = requests.get(url + "/api/dashboards/uid/verify-staging-runners", headers=good, timeout=5)
        wrong = requests.get(url + "/api/datasources", headers={"Authorization": "Bearer x"}, timeout=5)
        missing = requests.get(url + "/api/dashboards/uid/other", headers=good, timeout=5)
        health = requests.get(url + "/api/health", timeout=5)
        # Anonymous access is off, as on a real Grafana (issue 14 §1): no token, no dashboard or query.
        anonymous = [
            requests.get(url + "/api/dashboards/uid/verify-staging-runners", timeout=5),
            requests.get(url + "/api/datasources", timeout=5),
            requests.post(url + "/api/ds/query", json={"queries": []}, timeout=5),
        ]
    assert board.json()["dashboard"]["title"] == "Runners"
    assert wrong.status_code == 401
    assert [a.status_code for a in anonymous] == [401, 401, 401]
    assert anonymous[0].json() == {"message": "Unauthorized"}
    assert missing.status_code == 404
    assert health.json()["database"] == "ok"


async def test_a_service_whose_port_was_taken_meanwhile_starts_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process binds the port the lab picked before the service does: the service exits EXIT_PORT_TAKEN
    and the lab starts it again on a fresh port, instead of failing to start."""
    children: list[subprocess.Popen[bytes]] = []

    def child(name: str, argv: tuple[str, ...]) -> subprocess.Popen[bytes]:
        children.append(spawn(ProcessSpec(argv=argv, log_path=tmp_path / f"{name}.log")))
        return children[-1]

    world = SimpleNamespace(options=SimpleNamespace(workdir=tmp_path), urls={}, children=children, child=child)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        picks = iter([int(taken.getsockname()[1])])
        monkeypatch.setattr(launch, "free_port", lambda: next(picks, 0) or free_port())
        try:
            config = {"truth_log": str(tmp_path / "truth.jsonl")}
            await launch._start_on_free_port(world, "oncall", config)  # type: ignore[arg-type]
            url = world.urls["oncall"]
            assert url != f"http://127.0.0.1:{taken.getsockname()[1]}"
            requests.get(url + "/", timeout=5)  # it answers
        finally:
            await asyncio.gather(*(terminate(p) for p in children))
    assert "is taken" in (tmp_path / "oncall.log").read_text()
