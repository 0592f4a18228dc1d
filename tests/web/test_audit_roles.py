"""Separation of duties: auditors read and never decide, moderators decide and never read the audit API."""

from __future__ import annotations

import uuid

import pytest

from tests.web.conftest import Api, article, bearer

COMMENT = "{comment}"
DECISIONS = [
    ("POST", f"/api/v1/moderation/comments/{COMMENT}/approve", {"expected_version": 1}),
    ("POST", f"/api/v1/moderation/comments/{COMMENT}/reject", {"expected_version": 1, "reason_code": "spam"}),
    ("POST", f"/api/v1/moderation/comments/{COMMENT}/hide", {"expected_version": 1}),
    (
        "POST",
        "/api/v1/moderation/decisions",
        {"decisions": [{"id": COMMENT, "action": "approve", "expected_version": 1}]},
    ),
    ("POST", "/api/v1/moderation/claims", {"limit": 1}),
    ("GET", "/api/v1/moderation/queue", None),
]
AUDIT_READS = [
    ("GET", f"/api/v1/audit/comments/{COMMENT}/events", {}),
    ("GET", "/api/v1/audit/events", {}),
    ("GET", "/api/v1/audit/events", {"Accept": "application/x-ndjson"}),
    ("GET", "/api/v1/audit/seals", {}),
    ("GET", "/api/v1/audit/verify", {}),
]


def _with_comment(value: object, comment_id: str) -> object:
    if isinstance(value, str):
        return value.replace(COMMENT, comment_id)
    if isinstance(value, dict):
        return {key: _with_comment(item, comment_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_comment(item, comment_id) for item in value]
    return value


@pytest.mark.parametrize(("method", "path", "body"), DECISIONS, ids=[f"{m} {p}" for m, p, _ in DECISIONS])
async def test_an_auditor_token_cannot_decide(api: Api, method: str, path: str, body: object) -> None:
    auditor = await api.token("auditor")
    comment_id = str((await (await api.submit(article())).json())["id"])

    response = await api.client.request(
        method, str(_with_comment(path, comment_id)), json=_with_comment(body, comment_id), headers=bearer(auditor)
    )

    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "headers"), AUDIT_READS, ids=[f"{p} {h}" for _, p, h in AUDIT_READS])
async def test_a_moderator_token_cannot_read_the_audit_api(
    api: Api, method: str, path: str, headers: dict[str, str]
) -> None:
    moderator = await api.token("moderator")
    comment_id = str((await (await api.submit(article())).json())["id"])

    response = await api.client.request(
        method, str(_with_comment(path, comment_id)), headers={**headers, **bearer(moderator)}
    )

    assert response.status == 403
    assert response.content_type == "application/json"
    assert (await response.json())["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ["moderator", "auditor"])
async def test_only_an_admin_may_erase_a_reader(api: Api, role: str) -> None:
    token = await api.token(role)

    response = await api.client.post("/api/v1/moderation/erasures", json={"phone": "0912345678"}, headers=bearer(token))

    assert response.status == 403


async def test_an_admin_reads_the_audit_api_and_an_anonymous_caller_reads_nothing(api: Api) -> None:
    admin = await api.token("admin", name=f"admin-{uuid.uuid4().hex[:8]}")

    for _method, path, headers in AUDIT_READS:
        url = path.replace(COMMENT, str((await (await api.submit(article())).json())["id"]))
        assert (await api.client.get(url, headers={**headers, **bearer(admin)})).status == 200, path
        assert (await api.client.get(url, headers=headers)).status == 401, path
