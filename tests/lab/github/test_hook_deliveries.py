"""The App webhook's delivery log on the simulated GitHub: every attempt listed as GitHub lists it (newest first,
cursor pagination through `Link`, App JWT only), and a redelivery that carries the same GUID and body."""

from __future__ import annotations

import re
from typing import Any

from tests.lab.github.conftest import INSTALLATION, REPO, Keys, Lab, StartLab
from tests.support.ports import closed_port

# GitHub's `hook-delivery-item` ("List deliveries for an app webhook").
ITEM_FIELDS = {
    "id", "guid", "delivered_at", "redelivery", "duration", "status", "status_code", "event", "action",
    "installation_id", "repository_id", "throttled_at",
}  # fmt: skip
NEXT = re.compile(r'<([^>]+)>; rel="next"')


async def _comments(lab: Lab, count: int) -> None:
    for n in range(count):
        status, _ = await lab.call("POST", f"/repos/{REPO}/issues/42/comments", {"body": f"c{n}"}, token="pat-alice")
        assert status == 201
    assert await lab.github.sim.hub.drain()


async def _get(lab: Lab, url: str, authorization: str | None) -> tuple[int, Any, str | None]:
    headers = {"Authorization": authorization} if authorization else {}
    async with lab.http.get(url, headers=headers) as answer:
        return answer.status, await answer.json(), answer.headers.get("Link")


async def test_every_attempt_is_listed_with_githubs_fields_and_status(start_lab: StartLab, keys: Keys) -> None:
    lab = await start_lab()
    lab.github.set_webhook_url(f"http://127.0.0.1:{closed_port()}/webhooks")  # the App is down
    await _comments(lab, 1)
    lab.github.set_webhook_url(lab.sink.url)
    lab.sink.status = 503
    await _comments(lab, 1)
    lab.sink.status = 202
    await _comments(lab, 1)

    status, items, _ = await _get(lab, lab.api("/app/hook/deliveries"), f"Bearer {keys.jwt()}")

    assert status == 200
    assert [set(item) for item in items] == [ITEM_FIELDS] * 3
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)  # newest first
    newest, middle, oldest = items
    assert (newest["status_code"], newest["status"]) == (202, "OK")
    assert (middle["status_code"], middle["status"]) == (503, "Invalid HTTP Response: 503")
    assert oldest["status_code"] == 0 and oldest["status"] == "failed to connect to host"
    assert all(i["event"] == "issue_comment" and i["action"] == "created" for i in items)
    assert all(i["installation_id"] == INSTALLATION and i["redelivery"] is False for i in items)
    assert all(isinstance(i["repository_id"], int) and re.fullmatch(r"\d{4}-.*Z", i["delivered_at"]) for i in items)


async def test_pages_follow_the_link_headers_cursor_to_the_oldest(start_lab: StartLab, keys: Keys) -> None:
    lab = await start_lab()
    await _comments(lab, 5)
    url: str | None = lab.api("/app/hook/deliveries?per_page=2")
    pages: list[list[int]] = []
    while url is not None and len(pages) < 10:
        status, items, link = await _get(lab, url, f"Bearer {keys.jwt()}")
        assert status == 200
        pages.append([item["id"] for item in items])
        found = NEXT.search(link or "")
        url = found.group(1) if found else None
        assert url is None or "cursor=" in url
    ids = [i for page in pages for i in page]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert ids == sorted(set(ids), reverse=True)

    status, body, _ = await _get(lab, lab.api("/app/hook/deliveries?cursor=bogus"), f"Bearer {keys.jwt()}")
    assert status == 422, body


async def test_only_the_apps_jwt_opens_the_delivery_log(start_lab: StartLab) -> None:
    lab = await start_lab()
    await _comments(lab, 1)
    url = lab.api("/app/hook/deliveries")
    for authorization in (None, f"token {lab.token}", "token pat-alice"):
        status, body, _ = await _get(lab, url, authorization)
        assert status == 401, (authorization, body)
    async with lab.http.post(url + "/1/attempts", headers={"Authorization": f"token {lab.token}"}) as answer:
        assert answer.status == 401


async def test_a_redelivery_carries_the_same_guid_and_body_and_is_listed(start_lab: StartLab, keys: Keys) -> None:
    lab = await start_lab()
    lab.github.set_webhook_url(f"http://127.0.0.1:{closed_port()}/webhooks")
    await _comments(lab, 1)
    lab.github.set_webhook_url(lab.sink.url)
    _, [failed], _ = await _get(lab, lab.api("/app/hook/deliveries"), f"Bearer {keys.jwt()}")
    sent = lab.github.sim.hub.sent[-1]

    jwt = {"Authorization": f"Bearer {keys.jwt()}"}
    async with lab.http.post(lab.api(f"/app/hook/deliveries/{failed['id']}/attempts"), headers=jwt) as answer:
        assert answer.status == 202
    async with lab.http.post(lab.api("/app/hook/deliveries/12345/attempts"), headers=jwt) as answer:
        assert answer.status == 404
    assert await lab.github.sim.hub.drain()

    [received] = lab.sink.received
    assert received.headers["X-GitHub-Delivery"] == failed["guid"] == sent.guid
    assert received.body == sent.body
    _, [redelivered, original], _ = await _get(lab, lab.api("/app/hook/deliveries"), f"Bearer {keys.jwt()}")
    assert original == failed
    assert redelivered["guid"] == failed["guid"] and redelivered["redelivery"] is True
    assert redelivered["status_code"] == 202 and redelivered["id"] > failed["id"]
    [requested] = lab.truth.events("webhook_redelivery_requested")
    assert requested.fields["delivery"] == failed["guid"] and requested.fields["attempt"] == failed["id"]
    assert [e.fields["redelivery"] for e in lab.truth.events("webhook_delivered")] == [False, True]
