"""Edges where the server must say exactly what the OpenAPI document says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from service.db import iso
from tests.web.conftest import Api, bearer


async def test_an_empty_time_filter_is_refused_not_taken_as_absent(api: Api) -> None:
    moderator, auditor = await api.token("moderator"), await api.token("auditor")

    queue = await api.client.get("/api/v1/moderation/queue?submitted_before=", headers=bearer(moderator))
    log = await api.client.get("/api/v1/audit/events?until=", headers=bearer(auditor))

    assert queue.status == 422
    assert (await queue.json())["error"]["fields"] == {"submitted_before": "invalid"}
    assert log.status == 422
    assert (await log.json())["error"]["fields"] == {"until": "invalid"}


async def test_a_malformed_idempotency_key_refuses_a_bulk_request_before_any_decision(api: Api) -> None:
    token = await api.token("moderator")
    body = {"decisions": [{"id": str(uuid.uuid4()), "action": "approve", "expected_version": 1}]}

    response = await api.client.post(
        "/api/v1/moderation/decisions", json=body, headers=bearer(token) | {"Idempotency-Key": "k" * 101}
    )

    assert response.status == 400
    assert (await response.json())["error"]["code"] == "invalid_idempotency_key"


async def test_the_history_and_related_routes_do_not_advertise_post(api: Api) -> None:
    token = await api.token("moderator")
    comment_id = uuid.uuid4()

    for tail in ("history", "related"):
        response = await api.client.options(f"/api/v1/moderation/comments/{comment_id}/{tail}", headers=bearer(token))
        assert response.status == 405
        assert "POST" not in response.headers["Allow"]
    unknown = await api.client.post(f"/api/v1/moderation/comments/{comment_id}/frobnicate", headers=bearer(token))
    assert unknown.status == 404
    assert (await unknown.json())["error"]["code"] == "not_found"


async def test_repeated_article_ids_count_toward_the_limit_of_a_hundred(api: Api) -> None:
    query = "&".join(["article_id=a1"] * 101)

    response = await api.client.get(f"/api/v1/counts?{query}")

    assert response.status == 422
    assert (await response.json())["error"]["fields"] == {"article_id": "too_many"}


def test_a_year_before_1000_is_written_with_four_digits() -> None:
    assert iso(datetime(24, 3, 9, 8, 30, 1, 5, tzinfo=UTC)) == "0024-03-09T08:30:01.000005Z"
    assert iso(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)) == "2026-12-01T16:00:00.000000Z"
