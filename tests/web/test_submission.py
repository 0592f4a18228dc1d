"""Readers over HTTP: CAPTCHA, submitting, reading, counting and reporting, with every error the contract names."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from typing import Any

import sqlalchemy as sa

from service.db import connect
from service.tables import events
from tests.conftest import eventually
from tests.web.conftest import TEST_ANSWER, Api, ClientFactory, article

NAME = "Trần Thị Ngọc Ánh"
TITLE = "Góp ý về bầu cử đại biểu Quốc hội"
BODY = "Tôi hoàn toàn đồng ý.\nQuận làm rất tốt công tác giải phóng mặt bằng 👍"


async def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    document: dict[str, Any] = await response.json()
    error: dict[str, Any] = document["error"]
    assert error["code"] == code
    return error


async def _approve(api: Api, comment_id: str, version: int = 1) -> None:
    token = await api.token()
    response = await api.moderate(token, comment_id, "approve", expected_version=version)
    assert response.status == 200, await response.text()


async def _count_events(api: Api) -> int:
    db = connect(api.settings.database_url)
    try:
        async with db.read() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(events)) or 0)
    finally:
        await db.dispose()


# --- CAPTCHA ---------------------------------------------------------------------------------------------------


async def test_a_new_challenge_comes_with_its_image_and_audio_urls(api: Api) -> None:
    response = await api.client.post("/api/v1/captchas")

    assert response.status == 201
    document = await response.json()
    assert set(document) == {"id", "image_url", "audio_url", "expires_at"}
    assert len(document["id"]) >= 22  # >= 128 bits of url-safe base64
    image = await api.client.get(document["image_url"])
    assert (image.status, image.content_type) == (200, "image/png")
    assert (await image.read()).startswith(b"\x89PNG")
    audio = await api.client.get(document["audio_url"])
    assert (audio.status, audio.content_type) == (200, "audio/wav")
    assert (await audio.read())[:4] == b"RIFF"


async def test_an_unknown_challenge_has_no_image(api: Api) -> None:
    response = await api.client.get("/api/v1/captchas/nope/image.png")

    await _error(response, 404, "not_found")


async def test_wrong_used_expired_and_unknown_codes_all_answer_captcha_invalid(api: Api) -> None:
    wrong = await api.submit(article(), captcha_answer="WRONG")
    await _error(wrong, 422, "captcha_invalid")

    challenge = await api.captcha()
    assert (await api.submit(article(), captcha_id=challenge)).status == 202
    await _error(await api.submit(article(), captcha_id=challenge), 422, "captcha_invalid")

    expiring = await api.captcha()
    api.clock.advance(api.settings.captcha_ttl_seconds + 1)
    await _error(await api.submit(article(), captcha_id=expiring), 422, "captcha_invalid")

    await _error(await api.submit(article(), captcha_id="x" * 32), 422, "captcha_invalid")


async def test_a_wrong_code_uses_up_the_challenge(api: Api) -> None:
    challenge = await api.captcha()
    await api.submit(article(), captcha_id=challenge, captcha_answer="AAAAA")

    retry = await api.submit(article(), captcha_id=challenge)

    await _error(retry, 422, "captcha_invalid")


async def test_the_code_is_case_insensitive_and_trimmed(api: Api) -> None:
    response = await api.submit(article(), captcha_answer=f"  {TEST_ANSWER.lower()} ")

    assert response.status == 202


# --- submitting ------------------------------------------------------------------------------------------------


async def test_a_comment_waits_for_moderation_by_default(api: Api) -> None:
    article_id = article()

    response = await api.submit(article_id, author_name=NAME, title=TITLE, body=BODY, phone="0912 345 678")

    assert response.status == 202
    document = await response.json()
    assert (document["status"], document["version"]) == ("pending", 1)
    assert (await api.published(article_id))["total"] == 0


async def test_post_moderation_publishes_at_once(make_api: ClientFactory) -> None:
    from service.settings import Moderation

    api = await make_api(moderation=Moderation.POST)
    article_id = article()

    response = await api.submit(article_id, author_name=NAME)

    assert (await response.json())["status"] == "published"
    assert [item["author_name"] for item in (await api.published(article_id))["items"]] == [NAME]


async def test_nfd_vietnamese_is_stored_and_served_as_nfc_byte_for_byte(api: Api) -> None:
    article_id = article()
    decomposed = {key: unicodedata.normalize("NFD", value) for key, value in (("n", NAME), ("t", TITLE), ("b", BODY))}
    assert decomposed["n"] != NAME

    response = await api.submit(article_id, author_name=decomposed["n"], title=decomposed["t"], body=decomposed["b"])
    await _approve(api, (await response.json())["id"])

    raw = await (await api.client.get(f"/api/v1/articles/{article_id}/comments")).read()
    [item] = json.loads(raw.decode("utf-8"))["items"]
    assert (item["author_name"], item["title"], item["body"]) == (NAME, TITLE, BODY)
    # Served as UTF-8 text, not \u escapes: the exact NFC bytes are on the wire.
    for text in (NAME, TITLE):
        assert text.encode("utf-8") in raw


async def test_the_phone_number_never_appears_in_public_answers(api: Api) -> None:
    article_id = article()
    response = await api.submit(article_id, phone="(+84) 91-234-5678")
    await _approve(api, (await response.json())["id"])

    listing = await (await api.client.get(f"/api/v1/articles/{article_id}/comments")).text()

    assert "912" not in listing.replace(article_id, "")
    assert "phone" not in listing


async def test_every_spelling_of_one_phone_number_is_one_number(api: Api) -> None:
    token = await api.token()
    ids = []
    for spelling in ("0912 345 678", "+84912345678", "(+84) 91-234-5678"):
        ids.append((await (await api.submit(article(), phone=spelling)).json())["id"])

    phones = set()
    for comment_id in ids:
        entry = await api.client.get(
            f"/api/v1/moderation/comments/{comment_id}", headers={"Authorization": f"Bearer {token}"}
        )
        phones.add((await entry.json())["phone"])
    assert phones == {"+84912345678"}


async def test_bad_phone_numbers_are_field_errors(api: Api) -> None:
    for phone, code in (("0123 456 7890", "obsolete_prefix"), ("0912 345", "too_short"), ("hello", "invalid_phone")):
        error = await _error(await api.submit(article(), phone=phone), 422, "validation_failed")
        assert error["fields"] == {"phone": code}


async def test_missing_and_overlong_fields_are_reported_together(api: Api) -> None:
    response = await api.submit(article(), author_name=..., title="  ", body="x" * 5001)

    error = await _error(response, 422, "validation_failed")
    assert error["fields"] == {"author_name": "required", "title": "required", "body": "too_long"}


async def test_control_bidi_and_zero_width_characters_are_stripped_from_names(api: Api) -> None:
    article_id = article()
    response = await api.submit(article_id, author_name="Lê\u200b Văn\u202e Tám\x07", title="Tiêu\u200d đề")
    await _approve(api, (await response.json())["id"])

    [item] = (await api.published(article_id))["items"]

    assert (item["author_name"], item["title"]) == ("Lê Văn Tám", "Tiêu đề")


async def test_invalid_utf8_is_refused_not_replaced(api: Api) -> None:
    raw = b'{"author_name": "Nguy\xe1\xbb n", "title": "x", "body": "y"}'

    response = await api.client.post(
        f"/api/v1/articles/{article()}/comments", data=raw, headers={"Content-Type": "application/json"}
    )

    await _error(response, 400, "invalid_utf8")


async def test_malformed_json_and_non_objects_are_bad_requests(api: Api) -> None:
    for raw in (b"{", b"[]", b'"text"', b"NaN"):
        response = await api.client.post(
            f"/api/v1/articles/{article()}/comments", data=raw, headers={"Content-Type": "application/json"}
        )
        await _error(response, 400, "malformed_json")


async def test_only_json_bodies_are_accepted(api: Api) -> None:
    response = await api.client.post(f"/api/v1/articles/{article()}/comments", data={"author_name": "x"})

    await _error(response, 415, "unsupported_media_type")


async def test_a_body_over_the_limit_is_refused(api: Api) -> None:
    huge = json.dumps({"body": "x" * (api.settings.max_body_bytes + 10)})

    response = await api.client.post(
        f"/api/v1/articles/{article()}/comments", data=huge, headers={"Content-Type": "application/json"}
    )

    await _error(response, 413, "payload_too_large")


async def test_a_filled_honeypot_is_refused(api: Api) -> None:
    error = await _error(await api.submit(article(), website="http://spam.example"), 422, "validation_failed")

    assert error["fields"] == {"website": "must_be_empty"}


async def test_a_retried_request_with_the_same_idempotency_key_appends_nothing(api: Api) -> None:
    article_id = article()
    challenge = await api.captcha()
    headers = {"Idempotency-Key": "widget-7f3a-1"}
    first = await api.submit(article_id, captcha_id=challenge, headers=headers)
    before = await _count_events(api)

    again = await api.submit(article_id, captcha_id=challenge, headers=headers)

    assert again.status == 202
    assert await again.json() == await first.json()
    assert await _count_events(api) == before


async def test_a_retried_request_is_not_counted_again_in_the_metrics(api: Api) -> None:
    article_id = article()
    challenge = await api.captcha()
    headers = {"Idempotency-Key": "metrics-retry-1"}

    for _ in range(2):
        assert (await api.submit(article_id, captcha_id=challenge, headers=headers)).status == 202

    metrics = await (await api.client.get("/metrics")).text()
    assert 'comments_events_appended_total{type="CommentSubmitted"} 1\n' in metrics


async def test_a_double_click_submits_once(api: Api) -> None:
    article_id = article()
    challenge = await api.captcha()
    headers = {"Idempotency-Key": "double-click-1"}

    responses = await asyncio.gather(*(api.submit(article_id, captcha_id=challenge, headers=headers) for _ in range(2)))

    bodies = [await response.json() for response in responses]
    assert [response.status for response in responses] == [202, 202]
    assert bodies[0]["id"] == bodies[1]["id"]


async def test_the_rate_limit_answers_429_with_retry_after(make_api: ClientFactory) -> None:
    api = await make_api(rate_limit=2)
    api.clock.start_of_a_minute()
    statuses = [(await api.submit(article())).status for _ in range(3)]

    assert statuses[:2] == [202, 202]
    third = await api.submit(article())
    await _error(third, 429, "rate_limited")
    assert 1 <= int(third.headers["Retry-After"]) <= 60


async def test_a_submission_faster_than_a_person_types_is_asked_to_wait(make_api: ClientFactory) -> None:
    api = await make_api(min_submit_seconds=30)
    challenge = await api.captcha()

    early = await api.submit(article(), captcha_id=challenge)
    await _error(early, 429, "rate_limited")
    api.clock.advance(31)
    late = await api.submit(article(), captcha_id=challenge)

    assert late.status == 202  # the early attempt did not use up the challenge


async def test_a_reply_goes_under_a_published_comment_of_the_same_article(api: Api) -> None:
    article_id = article()
    parent = (await (await api.submit(article_id)).json())["id"]
    pending_reply = await api.submit(article_id, parent_id=parent)
    error = await _error(pending_reply, 422, "validation_failed")
    assert error["fields"] == {"parent_id": "not_published"}
    await _approve(api, parent)

    reply = await api.submit(article_id, parent_id=parent)
    elsewhere = await api.submit(article(), parent_id=parent)

    assert reply.status == 202
    assert (await _error(elsewhere, 422, "validation_failed"))["fields"] == {"parent_id": "not_found"}
    reply_id = (await reply.json())["id"]
    await _approve(api, reply_id)
    too_deep = await api.submit(article_id, parent_id=reply_id)
    assert (await _error(too_deep, 422, "validation_failed"))["fields"] == {"parent_id": "too_deep"}


async def test_a_closed_article_refuses_comments(api: Api) -> None:
    article_id = article()
    admin = await api.token("admin")
    closed = await api.client.put(
        f"/api/v1/moderation/articles/{article_id}/settings",
        json={"moderation": "pre", "closed": True},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert closed.status == 200

    await _error(await api.submit(article_id), 409, "article_closed")
    listing = await api.published(article_id)
    assert listing["closed"] is True


# --- reading ---------------------------------------------------------------------------------------------------


async def test_the_published_list_pages_orders_and_answers_304_when_unchanged(api: Api) -> None:
    article_id = article()
    for index in range(3):
        comment = await (await api.submit(article_id, title=f"Ý kiến {index}")).json()
        await _approve(api, comment["id"])

    oldest = await api.published(article_id, per_page=2)
    newest = await api.published(article_id, order="newest", per_page=2, page=2)
    assert [item["title"] for item in oldest["items"]] == ["Ý kiến 0", "Ý kiến 1"]
    assert [item["title"] for item in newest["items"]] == ["Ý kiến 0"]
    assert oldest["total"] == 3
    first = await api.client.get(f"/api/v1/articles/{article_id}/comments")
    etag = first.headers["ETag"]
    cached = await api.client.get(f"/api/v1/articles/{article_id}/comments", headers={"If-None-Match": etag})
    assert cached.status == 304
    await _approve(api, (await (await api.submit(article_id)).json())["id"])
    changed = await api.client.get(f"/api/v1/articles/{article_id}/comments", headers={"If-None-Match": etag})
    assert changed.status == 200


async def test_bad_list_parameters_are_field_errors(api: Api) -> None:
    for query, field in (
        ("page=0", "page"),
        ("per_page=500", "per_page"),
        ("order=random", "order"),
        ("page=x", "page"),
    ):
        response = await api.client.get(f"/api/v1/articles/{article()}/comments?{query}")
        assert field in (await _error(response, 422, "validation_failed"))["fields"]


async def test_counts_cover_up_to_a_hundred_articles_and_only_published_comments(api: Api) -> None:
    busy, quiet = article(), article()
    await _approve(api, (await (await api.submit(busy)).json())["id"])
    await api.submit(busy)

    response = await api.client.get("/api/v1/counts", params=[("article_id", busy), ("article_id", quiet)])

    assert await response.json() == {"counts": {busy: 1, quiet: 0}}
    too_many = [("article_id", f"a{index}") for index in range(101)]
    await _error(await api.client.get("/api/v1/counts", params=too_many), 422, "validation_failed")


# --- reports ---------------------------------------------------------------------------------------------------


async def test_a_reader_can_report_a_published_comment_but_not_an_unpublished_one(api: Api) -> None:
    article_id = article()
    published = (await (await api.submit(article_id)).json())["id"]
    await _approve(api, published)
    pending = (await (await api.submit(article_id)).json())["id"]

    ok = await api.client.post(f"/api/v1/comments/{published}/reports", json={"reason": "spam"})
    hidden = await api.client.post(f"/api/v1/comments/{pending}/reports", json={"reason": "spam"})
    bad = await api.client.post(f"/api/v1/comments/{published}/reports", json={"reason": "boring"})

    assert ok.status == 202
    await _error(hidden, 404, "not_found")
    assert (await _error(bad, 422, "validation_failed"))["fields"] == {"reason": "invalid_choice"}


async def test_unknown_routes_and_methods_answer_json_errors(api: Api) -> None:
    await _error(await api.client.get("/api/v1/nothing"), 404, "not_found")
    await _error(await api.client.delete("/api/v1/counts"), 405, "method_not_allowed")
    await _error(await api.client.get("/api/v1/articles/%00bad/comments"), 404, "not_found")


async def test_many_concurrent_submissions_all_land_without_lock_errors(api: Api) -> None:
    article_id = article()
    challenges = [await api.captcha() for _ in range(30)]

    responses = await asyncio.gather(*(api.submit(article_id, captcha_id=challenge) for challenge in challenges))

    assert [response.status for response in responses] == [202] * 30
    token = await api.token()
    queue = await api.client.get(
        "/api/v1/moderation/queue",
        params={"article_id": article_id, "limit": "100"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert len((await queue.json())["items"]) == 30


async def test_a_banned_word_holds_the_comment_even_under_post_moderation_and_says_why(make_api: ClientFactory) -> None:
    from service.settings import Moderation

    api = await make_api(moderation=Moderation.POST)
    article_id = article()

    response = await api.submit(article_id, body="Muốn kiếm tiền online thì vào đây, cá độ bóng đá uy tín")

    assert (await response.json())["status"] == "pending"
    token = await api.token()
    entry = await api.client.get(
        f"/api/v1/moderation/comments/{(await response.json())['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    flags = (await entry.json())["flags"]
    assert {flag["code"] for flag in flags} >= {"banned_word"}
    assert all(flag["detail"] for flag in flags)
    queue = await api.client.get(
        "/api/v1/moderation/queue",
        params={"flag": "banned_word", "article_id": article_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert len((await queue.json())["items"]) == 1


async def test_the_same_text_twice_from_one_phone_is_flagged_as_repeated(api: Api) -> None:
    body = "Đề nghị quận sớm sửa con đường trước cổng trường tiểu học."
    await api.submit(article(), phone="0933 444 555", body=body)

    second = await api.submit(article(), phone="+84933444555", body=body)

    token = await api.token()
    entry = await api.client.get(
        f"/api/v1/moderation/comments/{(await second.json())['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert "repeated_text" in {flag["code"] for flag in (await entry.json())["flags"]}


async def test_two_processes_agree_on_etags_and_one_sees_the_others_change_within_the_staleness_bound(
    make_api: ClientFactory,
) -> None:
    first, second = await make_api(), await make_api()  # two apps over one database, as behind a load balancer
    article_id = article()
    await _approve(first, (await (await first.submit(article_id, title="Một")).json())["id"])
    seen_by_second = await second.client.get(f"/api/v1/articles/{article_id}/comments")
    etag = seen_by_second.headers["ETag"]

    again = await first.client.get(f"/api/v1/articles/{article_id}/comments", headers={"If-None-Match": etag})
    await _approve(first, (await (await first.submit(article_id, title="Hai")).json())["id"])

    async def second_shows_both() -> bool:
        fresh = await second.published(article_id)
        return [item["title"] for item in fresh["items"]] == ["Một", "Hai"]

    assert again.status == 304
    assert await eventually(second_shows_both)


async def test_concurrent_reports_on_one_comment_all_land(api: Api) -> None:
    comment_id = (await (await api.submit(article())).json())["id"]
    await _approve(api, comment_id)

    responses = await asyncio.gather(
        *(api.client.post(f"/api/v1/comments/{comment_id}/reports", json={"reason": "spam"}) for _ in range(12))
    )

    assert [response.status for response in responses] == [202] * 12
    token = await api.token()
    entry = await api.client.get(
        f"/api/v1/moderation/comments/{comment_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert (await entry.json())["report_count"] == 12


async def test_concurrent_retries_with_one_key_record_one_comment(api: Api) -> None:
    article_id = article()
    headers = {"Idempotency-Key": f"retry-{article_id}"}
    challenges = [await api.captcha() for _ in range(5)]

    responses = await asyncio.gather(*(api.submit(article_id, captcha_id=c, headers=headers) for c in challenges))

    assert {response.status for response in responses} == {202}
    assert len({(await response.json())["id"] for response in responses}) == 1


async def test_hostile_bytes_and_values_get_clear_errors_never_a_500(api: Api) -> None:
    host, port = "127.0.0.1", api.client.port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"GET /api/v1/moderation/queue HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer cmt_\xff\xfe\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    surrogate = await api.client.post(
        f"/api/v1/articles/{article()}/comments",
        data=json.dumps(
            {
                "author_name": "An",
                "title": "T",
                "body": "B",
                "captcha_id": await api.captcha(),
                "captcha_answer": "\ud800",
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    newline = await api.client.get("/api/v1/articles/abc%0A/comments")
    token = await api.token()
    auth = {"Authorization": f"Bearer {token}"}
    odd_cursor = await api.client.get("/api/v1/moderation/queue", params={"cursor": "WzEsMl0"}, headers=auth)
    far_past = await api.client.get(
        "/api/v1/moderation/queue", params={"submitted_after": "0001-01-01T00:00:00+01:00"}, headers=auth
    )

    assert status_line.split()[1] == b"401"
    await _error(surrogate, 422, "captcha_invalid")
    await _error(newline, 404, "not_found")
    await _error(odd_cursor, 422, "validation_failed")
    await _error(far_past, 422, "validation_failed")


async def test_new_codes_are_rate_limited_per_address(make_api: ClientFactory) -> None:
    api = await make_api(captcha_rate_limit=3)
    api.clock.start_of_a_minute()

    statuses = [(await api.client.post("/api/v1/captchas")).status for _ in range(4)]

    assert statuses == [201, 201, 201, 429]


async def test_the_longest_article_id_works_and_a_longer_one_is_404(api: Api) -> None:
    longest, too_long = "a" * 120, "a" * 121

    accepted = await api.submit(longest)
    refused = await api.submit(too_long)

    assert accepted.status == 202
    await _error(refused, 404, "not_found")
