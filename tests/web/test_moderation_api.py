"""Moderators over HTTP: tokens and roles, decisions with expected versions, claims, bulk, audit and operations."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from service import auth
from service.db import connect
from service.eventstore import RecordedEvent
from service.web.runtime import runtime_key
from tests.web.conftest import Api, ClientFactory, article, bearer


async def _pending(api: Api, article_id: str | None = None) -> str:
    response = await api.submit(article_id or article())
    assert response.status == 202
    return str((await response.json())["id"])


async def _code(response: Any) -> tuple[int, str | None]:
    document = await response.json()
    return response.status, (document.get("error") or {}).get("code")


async def test_the_queue_needs_a_valid_token(api: Api) -> None:
    missing = await api.client.get("/api/v1/moderation/queue")
    wrong = await api.client.get("/api/v1/moderation/queue", headers=bearer("cmt_not-a-token"))

    assert await _code(missing) == (401, "unauthorized")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert await _code(wrong) == (401, "unauthorized")


async def test_a_revoked_token_stops_working(api: Api) -> None:
    name = "revoked-lan"
    token = await api.token("moderator", name=name)
    assert (await api.client.get("/api/v1/moderation/queue", headers=bearer(token))).status == 200
    db = connect(api.settings.database_url)
    async with db.write() as conn:
        assert await auth.revoke(conn, name, api.clock())
    await db.dispose()

    response = await api.client.get("/api/v1/moderation/queue", headers=bearer(token))

    assert await _code(response) == (401, "unauthorized")


async def test_each_role_reaches_only_its_endpoints(api: Api) -> None:
    moderator, auditor, admin = await api.token("moderator"), await api.token("auditor"), await api.token("admin")
    settings_url = f"/api/v1/moderation/articles/{article()}/settings"
    body = {"moderation": "post", "closed": False}

    assert (await api.client.get("/api/v1/moderation/queue", headers=bearer(auditor))).status == 403
    assert (await api.client.get("/api/v1/audit/verify", headers=bearer(moderator))).status == 403
    assert (await api.client.put(settings_url, json=body, headers=bearer(moderator))).status == 403
    assert (await api.client.get("/api/v1/audit/verify", headers=bearer(auditor))).status == 200
    assert (await api.client.get("/api/v1/moderation/queue", headers=bearer(admin))).status == 200
    assert (await api.client.put(settings_url, json=body, headers=bearer(admin))).status == 200


async def test_approving_with_the_current_version_publishes_the_comment(api: Api) -> None:
    article_id = article()
    comment_id = await _pending(api, article_id)
    token = await api.token()

    response = await api.moderate(token, comment_id, "approve", expected_version=1)

    assert await response.json() == {"id": comment_id, "status": "approved", "version": 2}
    assert [item["id"] for item in (await api.published(article_id))["items"]] == [comment_id]


async def test_a_stale_version_is_a_conflict_and_changes_nothing(api: Api) -> None:
    comment_id = await _pending(api)
    token = await api.token()
    await api.moderate(token, comment_id, "approve", expected_version=1)

    stale = await api.moderate(token, comment_id, "hide", expected_version=1)

    assert await _code(stale) == (409, "version_conflict")


async def test_an_illegal_transition_is_refused(api: Api) -> None:
    comment_id = await _pending(api)
    token = await api.token()
    await api.moderate(token, comment_id, "approve", expected_version=1)

    again = await api.moderate(token, comment_id, "approve", expected_version=2)

    assert await _code(again) == (409, "invalid_transition")


async def test_decisions_validate_their_fields(api: Api) -> None:
    comment_id = await _pending(api)
    token = await api.token()

    no_reason = await api.moderate(token, comment_id, "reject", expected_version=1)
    no_note = await api.moderate(token, comment_id, "edit", expected_version=1, body="Đã sửa")
    no_version = await api.moderate(token, comment_id, "approve")
    unknown = await api.moderate(token, comment_id, "delete", expected_version=1)

    assert (await no_reason.json())["error"]["fields"] == {"reason_code": "required"}
    assert (await no_note.json())["error"]["fields"] == {"note": "required"}
    assert (await no_version.json())["error"]["fields"] == {"expected_version": "required"}
    assert unknown.status == 404


async def test_edit_hide_and_restore_move_a_comment_through_its_life(api: Api) -> None:
    article_id = article()
    comment_id = await _pending(api, article_id)
    token = await api.token()

    steps: list[tuple[str, dict[str, Any]]] = [
        ("approve", {"expected_version": 1}),
        ("edit", {"expected_version": 2, "body": "Nội dung đã được biên tập", "note": "bỏ số điện thoại"}),
        ("hide", {"expected_version": 3, "reason_code": "personal_data"}),
        ("restore", {"expected_version": 4, "note": "đã kiểm tra lại"}),
    ]
    statuses = []
    for action, body in steps:
        response = await api.moderate(token, comment_id, action, **body)
        assert response.status == 200, await response.text()
        statuses.append((await response.json())["status"])

    assert statuses == ["approved", "approved", "hidden", "approved"]
    [item] = (await api.published(article_id))["items"]
    assert item["body"] == "Nội dung đã được biên tập"


async def test_two_moderators_claiming_at_once_get_disjoint_comments(api: Api) -> None:
    article_id = article()
    for _ in range(6):
        await _pending(api, article_id)
    lan, minh = await api.token(name="claim-lan"), await api.token(name="claim-minh")

    responses = await asyncio.gather(
        *(
            api.client.post("/api/v1/moderation/claims", json={"limit": 3, "article_id": article_id}, headers=bearer(t))
            for t in (lan, minh)
        )
    )

    sets = [{item["id"] for item in (await response.json())["items"]} for response in responses]
    assert len(sets[0]) == len(sets[1]) == 3
    assert not sets[0] & sets[1]


async def test_a_decision_on_another_moderators_claim_is_refused_unless_admin(api: Api) -> None:
    article_id = article()
    comment_id = await _pending(api, article_id)
    holder, other, admin = await api.token(), await api.token(), await api.token("admin")
    claimed = await api.client.post(
        "/api/v1/moderation/claims", json={"limit": 1, "article_id": article_id}, headers=bearer(holder)
    )
    assert [item["id"] for item in (await claimed.json())["items"]] == [comment_id]

    refused = await api.moderate(other, comment_id, "approve", expected_version=1)
    allowed = await api.moderate(admin, comment_id, "approve", expected_version=1)

    assert await _code(refused) == (409, "claimed")
    assert allowed.status == 200


async def test_an_expired_lease_returns_the_comment_to_the_queue(api: Api) -> None:
    article_id = article()
    comment_id = await _pending(api, article_id)
    first, second = await api.token(), await api.token()
    await api.client.post(
        "/api/v1/moderation/claims",
        json={"limit": 1, "lease_seconds": 30, "article_id": article_id},
        headers=bearer(first),
    )

    api.clock.advance(31)
    taken = await api.client.post(
        "/api/v1/moderation/claims", json={"limit": 1, "article_id": article_id}, headers=bearer(second)
    )

    assert [item["id"] for item in (await taken.json())["items"]] == [comment_id]


async def test_bulk_decisions_apply_item_by_item(api: Api) -> None:
    good, stale = await _pending(api), await _pending(api)
    token = await api.token()

    response = await api.client.post(
        "/api/v1/moderation/decisions",
        json={
            "decisions": [
                {"id": good, "action": "reject", "expected_version": 1, "reason_code": "spam"},
                {"id": stale, "action": "approve", "expected_version": 7},
                {"id": "not-a-uuid", "action": "approve", "expected_version": 1},
            ]
        },
        headers=bearer(token),
    )

    results = (await response.json())["results"]
    assert results[0] == {"id": good, "status": "rejected", "version": 2}
    assert results[1]["error"]["code"] == "version_conflict"
    assert results[2]["error"]["code"] == "validation_failed"


async def test_the_queue_pages_with_a_stable_cursor(api: Api) -> None:
    article_id = article()
    ids = [await _pending(api, article_id) for _ in range(5)]
    token = await api.token()

    seen: list[str] = []
    cursor = None
    while True:
        params = {"article_id": article_id, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await api.client.get("/api/v1/moderation/queue", params=params, headers=bearer(token))).json()
        seen += [item["id"] for item in page["items"]]
        if page["items"]:
            # Decide the first item of every page: the cursor still neither skips nor repeats.
            await api.moderate(token, page["items"][0]["id"], "approve", expected_version=1)
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))


async def test_the_audit_api_shows_history_and_verifies_the_chain(api: Api) -> None:
    comment_id = await _pending(api)
    moderator, auditor = await api.token(), await api.token("auditor")
    await api.moderate(moderator, comment_id, "reject", expected_version=1, reason_code="off_topic", note="lạc đề")

    history = await (
        await api.client.get(f"/api/v1/audit/comments/{comment_id}/events", headers=bearer(auditor))
    ).json()
    verify = await (await api.client.get("/api/v1/audit/verify", headers=bearer(auditor))).json()
    log = await (await api.client.get("/api/v1/audit/events?limit=5", headers=bearer(auditor))).json()

    assert [event["type"] for event in history["events"]] == ["CommentSubmitted", "CommentRejected"]
    assert history["events"][1]["data"]["note"] == "lạc đề"
    assert history["events"][1]["actor"].startswith("moderator:")
    assert verify["ok"] is True
    assert verify["first_bad_position"] is None
    assert [item["position"] for item in log["items"]] == list(range(1, len(log["items"]) + 1))


async def test_health_readiness_and_metrics_answer(api: Api) -> None:
    assert (await api.client.get("/healthz")).status == 200
    ready = await api.client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["status"] == "ready"
    metrics = await (await api.client.get("/metrics")).text()
    assert "comments_http_requests_total" in metrics
    assert (await api.client.get("/healthz")).headers["X-Request-Id"]


async def test_metrics_report_how_far_each_subscriber_lags_behind_the_log(api: Api) -> None:
    await api.submit(article())
    delivered: list[int] = []

    async def note(batch: Sequence[RecordedEvent], _conn: AsyncConnection) -> None:
        delivered.extend(item.position for item in batch)

    subscribers = api.client.app[runtime_key].subscribers
    subscribers.register("metrics-probe", note, batch_size=1)
    metrics = await (await api.client.get("/metrics")).text()
    lag = int(metrics.split('comments_subscriber_lag_events{subscriber="metrics-probe"} ')[1].split()[0])
    assert lag > 0

    await subscribers.catch_up(api.client.app[runtime_key].db, api.client.app[runtime_key].vault)

    metrics = await (await api.client.get("/metrics")).text()
    assert 'comments_subscriber_lag_events{subscriber="metrics-probe"} 0\n' in metrics
    assert len(delivered) >= lag


async def test_a_spam_wave_from_one_phone_is_rejected_in_one_action(api: Api) -> None:
    article_id = article()
    wave = [(await (await api.submit(article_id, phone="0987 654 321")).json())["id"] for _ in range(5)]
    bystander = await _pending(api, article_id)
    token = await api.token()

    response = await api.client.post(
        f"/api/v1/moderation/comments/{wave[0]}/reject-author",
        json={"reason_code": "spam", "note": "đợt spam"},
        headers=bearer(token),
    )

    results = (await response.json())["results"]
    assert sorted(result["id"] for result in results) == sorted(wave)
    assert {result["status"] for result in results} == {"rejected"}
    entry = await api.client.get(f"/api/v1/moderation/comments/{bystander}", headers=bearer(token))
    assert (await entry.json())["status"] == "pending"


async def test_the_authors_other_comments_are_listed_for_the_moderator(api: Api) -> None:
    first = (await (await api.submit(article(), phone="0977 111 222")).json())["id"]
    second = (await (await api.submit(article(), phone="+84977111222")).json())["id"]
    token = await api.token()

    related = await api.client.get(f"/api/v1/moderation/comments/{second}/related", headers=bearer(token))

    assert [item["id"] for item in (await related.json())["items"]] == [first]


async def test_the_queue_filters_by_time_and_rejects_bad_filters(api: Api) -> None:
    article_id = article()
    before = await _pending(api, article_id)
    api.clock.advance(3600)
    cut = (api.clock()).isoformat()
    api.clock.advance(1)
    after = await _pending(api, article_id)
    token = await api.token()
    common = {"article_id": article_id}

    newer = await api.client.get(
        "/api/v1/moderation/queue", params={**common, "submitted_after": cut}, headers=bearer(token)
    )
    older = await api.client.get(
        "/api/v1/moderation/queue", params={**common, "submitted_before": cut}, headers=bearer(token)
    )
    bad = await api.client.get(
        "/api/v1/moderation/queue", params={"submitted_after": "yesterday"}, headers=bearer(token)
    )

    assert [item["id"] for item in (await newer.json())["items"]] == [after]
    assert [item["id"] for item in (await older.json())["items"]] == [before]
    assert await _code(bad) == (422, "validation_failed")


async def test_released_claims_go_back_to_the_queue(api: Api) -> None:
    article_id = article()
    comment_id = await _pending(api, article_id)
    first, second = await api.token(), await api.token()
    claim = {"limit": 5, "article_id": article_id}
    await api.client.post("/api/v1/moderation/claims", json=claim, headers=bearer(first))

    released = await api.client.delete(f"/api/v1/moderation/claims?id={comment_id}", headers=bearer(first))
    taken = await api.client.post("/api/v1/moderation/claims", json=claim, headers=bearer(second))

    assert (await released.json())["released"] == 1
    assert [item["id"] for item in (await taken.json())["items"]] == [comment_id]


async def test_an_admin_issues_lists_and_revokes_moderator_tokens_over_the_api(api: Api) -> None:
    admin = await api.token("admin", name="chief-editor")
    name = f"ca-dem-{article()[-6:]}"

    created = await api.client.post(
        "/api/v1/moderation/moderators", json={"name": name, "role": "moderator"}, headers=bearer(admin)
    )
    token = (await created.json())["token"]
    works = await api.client.get("/api/v1/moderation/queue", headers=bearer(token))
    twice = await api.client.post(
        "/api/v1/moderation/moderators", json={"name": name, "role": "moderator"}, headers=bearer(admin)
    )
    listed = await (await api.client.get("/api/v1/moderation/moderators", headers=bearer(admin))).json()
    revoked = await api.client.delete(f"/api/v1/moderation/moderators/{name}", headers=bearer(admin))
    after = await api.client.get("/api/v1/moderation/queue", headers=bearer(token))
    bad = await api.client.post(
        "/api/v1/moderation/moderators", json={"name": "Bad Name!", "role": "x"}, headers=bearer(admin)
    )
    self_revoke = await api.client.delete("/api/v1/moderation/moderators/chief-editor", headers=bearer(admin))

    assert created.status == 201
    assert token.startswith("cmt_")
    assert works.status == 200
    assert await _code(twice) == (409, "moderator_exists")
    assert {"name": name, "role": "moderator"}.items() <= next(m for m in listed["items"] if m["name"] == name).items()
    assert "token" not in str(listed)
    assert revoked.status == 200
    assert after.status == 401
    assert (await bad.json())["error"]["fields"] == {"name": "invalid", "role": "invalid_choice"}
    assert await _code(self_revoke) == (409, "cannot_revoke_self")


async def test_claiming_again_renews_the_callers_leases(api: Api) -> None:
    article_id = article()
    comment_id = await _pending(api, article_id)
    holder, other = await api.token(), await api.token()
    claim = {"limit": 1, "lease_seconds": 30, "article_id": article_id}
    await api.client.post("/api/v1/moderation/claims", json=claim, headers=bearer(holder))

    api.clock.advance(20)
    renewed = await api.client.post("/api/v1/moderation/claims", json=claim, headers=bearer(holder))
    api.clock.advance(20)  # 40 s after the first claim, 20 s after the renewal
    taken = await api.client.post("/api/v1/moderation/claims", json=claim, headers=bearer(other))

    assert [item["id"] for item in (await renewed.json())["items"]] == [comment_id]
    assert (await taken.json())["items"] == []


async def test_metrics_can_be_kept_to_the_holder_of_a_token(make_api: ClientFactory) -> None:
    api = await make_api(metrics_token="scrape-secret-1")

    anonymous = await api.client.get("/metrics")
    wrong = await api.client.get("/metrics", headers=bearer("scrape-secret-2"))
    right = await api.client.get("/metrics", headers=bearer("scrape-secret-1"))

    assert [anonymous.status, wrong.status, right.status] == [401, 401, 200]
    assert (await anonymous.json())["error"]["code"] == "unauthorized"
    assert "comments_http_requests_total" in await right.text()
