"""The role matrix: every protected endpoint, every role and no token."""

from __future__ import annotations

import uuid

import pytest

from tests.web.conftest import Api, article

ROLES = ("moderator", "admin", "auditor")
MODERATION = {"moderator", "admin"}
ADMIN = {"admin"}
AUDIT = {"auditor", "admin"}
COMMENT = "{comment}"

ENDPOINTS: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("GET", "/api/v1/moderation/queue", None, MODERATION),
    ("GET", f"/api/v1/moderation/comments/{COMMENT}", None, MODERATION),
    ("GET", f"/api/v1/moderation/comments/{COMMENT}/related", None, MODERATION),
    ("GET", f"/api/v1/moderation/comments/{COMMENT}/history", None, MODERATION),
    ("POST", "/api/v1/moderation/erasures", {"phone": "0911 000 111"}, ADMIN),
    ("GET", "/api/v1/moderation/moderators", None, ADMIN),
    ("POST", "/api/v1/moderation/moderators", {"name": "x"}, ADMIN),
    ("DELETE", "/api/v1/moderation/moderators/nobody", None, ADMIN),
    ("POST", "/api/v1/moderation/claims", {"limit": 1}, MODERATION),
    ("DELETE", "/api/v1/moderation/claims", None, MODERATION),
    (
        "POST",
        "/api/v1/moderation/decisions",
        {"decisions": [{"id": COMMENT, "action": "approve", "expected_version": 9}]},
        MODERATION,
    ),
    ("POST", f"/api/v1/moderation/comments/{COMMENT}/approve", {"expected_version": 9}, MODERATION),
    ("POST", f"/api/v1/moderation/comments/{COMMENT}/reject-author", {"reason_code": "spam"}, MODERATION),
    ("PUT", "/api/v1/moderation/articles/roles-article/settings", {"moderation": "pre", "closed": False}, ADMIN),
    ("GET", f"/api/v1/audit/comments/{COMMENT}/events", None, AUDIT),
    ("GET", "/api/v1/audit/events", None, AUDIT),
    ("GET", "/api/v1/audit/verify", None, AUDIT),
    ("GET", "/api/v1/audit/seals", None, AUDIT),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
async def test_each_endpoint_admits_exactly_its_roles(
    api: Api, method: str, path: str, body: dict[str, object] | None, allowed: set[str]
) -> None:
    comment_id = (await (await api.submit(article())).json())["id"]
    url = path.replace(COMMENT, comment_id)
    payload = (
        None
        if body is None
        else {
            key: ([{**item, "id": comment_id} for item in value] if isinstance(value, list) else value)
            for key, value in body.items()
        }
    )

    anonymous = await api.client.request(method, url, json=payload)
    assert anonymous.status == 401

    for role in ROLES:
        token = await api.token(role, name=f"{role}-{uuid.uuid4().hex[:6]}")
        response = await api.client.request(method, url, json=payload, headers={"Authorization": f"Bearer {token}"})
        if role in allowed:
            assert response.status not in (401, 403), (role, response.status, await response.text())
        else:
            assert response.status == 403, (role, response.status)
            assert (await response.json())["error"]["code"] == "forbidden"
