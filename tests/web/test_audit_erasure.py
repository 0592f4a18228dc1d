"""Erasure end to end: once an admin erases a number, no table, answer, export or log line holds it or the name."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service import cli_audit
from service.db import connect
from service.redact import MaskingFilter
from service.text import casefold_nfc, fold_diacritics
from tests.web.conftest import Api, article, bearer
from tests.web.test_openapi import conforms

NAME = "Lã Thị Huyền Trâm"
PHONE = "0987 654 321"
OTHER_SPELLING = "+84 987-654-321"
NATIONAL_NUMBER = "987654321"
ERASURES = "/api/v1/moderation/erasures"


def leaks(text: str) -> set[str]:
    """Which of the reader's details `text` holds in clear: the phone in any spelling, the name in any case or accent.

    JSON is read as JSON first, line by line, so a name escaped as \\u sequences counts as in clear too.
    """
    found = set()
    for form in (text, *(decoded(line) for line in text.splitlines())):
        if NATIONAL_NUMBER in re.sub(r"[\s.\-()+\u00a0]", "", form):
            found.add("phone")
        if fold_diacritics(casefold_nfc(NAME)) in fold_diacritics(casefold_nfc(form)):
            found.add("name")
    return found


def decoded(line: str) -> str:
    try:
        return json.dumps(json.loads(line), ensure_ascii=False)
    except ValueError:
        return line


def readable_forms(value: Any) -> Iterator[str]:
    """A stored value as text (JSON columns are decoded by leaks()); bytes as UTF-8 and as Latin-1."""
    if value is None:
        return
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        yield raw.decode("utf-8", errors="ignore")
        yield raw.decode("latin-1")
        return
    yield str(value)


async def every_table_leaks(database_url: str) -> dict[str, set[str]]:
    """Every column of every row of every table, dumped raw: which tables still hold the phone or the name."""
    db = connect(database_url)
    found: dict[str, set[str]] = {}
    try:
        async with db.read() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            for table in tables:
                for row in (await conn.exec_driver_sql(f'SELECT * FROM "{table}"')).all():
                    for value in row:
                        for text in readable_forms(value):
                            if hit := leaks(text):
                                found.setdefault(table, set()).update(hit)
    finally:
        await db.dispose()
    return found


async def _two_comments_by_one_reader(api: Api, article_id: str, moderator: str) -> list[str]:
    """One approved, reported and edited; one pending, sent with another spelling of the same number."""
    first = await api.submit(
        article_id, author_name=NAME, phone=PHONE, title=f"Ý kiến của {NAME}", body=f"Gọi tôi nhé: {PHONE}."
    )
    second = await api.submit(article_id, author_name=NAME, phone=OTHER_SPELLING, title="Lần hai", body="Vẫn là tôi.")
    ids = [str((await first.json())["id"]), str((await second.json())["id"])]
    approved = await api.client.post(
        f"/api/v1/moderation/comments/{ids[0]}/approve",
        json={"expected_version": 1},
        headers=bearer(moderator, request_id="r-1"),
    )
    assert approved.status == 200
    assert (await api.client.post(f"/api/v1/comments/{ids[0]}/reports", json={"reason": "spam"})).status == 202
    edited = await api.moderate(moderator, ids[0], "edit", expected_version=3, note="bỏ số", body=f"{NAME} viết.")
    assert edited.status == 200
    return ids


async def _answers(api: Api, article_id: str, ids: list[str], tokens: dict[str, str]) -> dict[str, str]:
    """Every answer that could show the reader's data, by name."""
    moderator, auditor = bearer(tokens["moderator"]), bearer(tokens["auditor"])
    requests = {
        "public list": ("GET", f"/api/v1/articles/{article_id}/comments", {}),
        "approved queue": ("GET", f"/api/v1/moderation/queue?status=approved&article_id={article_id}", moderator),
        "pending queue": ("GET", f"/api/v1/moderation/queue?status=pending&article_id={article_id}", moderator),
        "queue entry": ("GET", f"/api/v1/moderation/comments/{ids[0]}", moderator),
        "related": ("GET", f"/api/v1/moderation/comments/{ids[0]}/related", moderator),
        "history 1": ("GET", f"/api/v1/audit/comments/{ids[0]}/events", auditor),
        "history 2": ("GET", f"/api/v1/audit/comments/{ids[1]}/events", auditor),
        "audit log": ("GET", f"/api/v1/audit/events?article_id={article_id}", auditor),
        "ndjson export": ("GET", "/api/v1/audit/events", {**auditor, "Accept": "application/x-ndjson"}),
    }
    answers = {}
    for label, (method, url, headers) in requests.items():
        response = await api.client.request(method, url, headers=headers)
        assert response.status == 200, label
        answers[label] = (await response.read()).decode("utf-8")
    return answers


async def test_after_an_erasure_the_phone_and_name_are_gone_everywhere_and_the_log_verifies(
    api: Api, log_output: io.StringIO, tmp_path: Path
) -> None:
    article_id = article()
    admin_name = f"admin-{article_id[-8:]}"
    tokens = {
        "moderator": await api.token("moderator"),
        "auditor": await api.token("auditor"),
        "admin": await api.token("admin", name=admin_name),
    }
    ids = await _two_comments_by_one_reader(api, article_id, tokens["moderator"])
    # A careless client puts the number in a query string; a debugging line logs it with a token.
    await api.client.get(f"/api/v1/articles/{article_id}/comments", params={"phone": PHONE})
    logging.getLogger("comments.debug").info("reader %s", PHONE, extra={"token": tokens["admin"]})
    before = await _answers(api, article_id, ids, tokens)
    assert leaks(before["queue entry"]) == {"phone", "name"}, "the check must see the data while it is held"
    assert leaks(before["history 1"]) == {"phone", "name"}
    assert {"moderation_queue", "published_comments"} <= set(await every_table_leaks(api.settings.database_url))

    erased = await api.client.post(
        ERASURES, json={"phone": OTHER_SPELLING}, headers=bearer(tokens["admin"], request_id="erase-1")
    )
    again = await api.client.post(ERASURES, json={"phone": PHONE}, headers=bearer(tokens["admin"]))

    assert (await conforms(erased, "POST", ERASURES))["comments"] == 2
    assert (await conforms(again, "POST", ERASURES)) | {"subject_id": None} == {
        "subject_id": None,
        "erased": False,
        "comments": 0,
    }
    after = await _answers(api, article_id, ids, tokens)
    assert {label: leaks(text) for label, text in after.items() if leaks(text)} == {}
    assert await every_table_leaks(api.settings.database_url) == {}
    db = connect(api.settings.database_url)
    try:
        await cli_audit.export(db, api.settings, tmp_path / "log.ndjson")
    finally:
        await db.dispose()
    assert leaks((tmp_path / "log.ndjson").read_text(encoding="utf-8")) == set()
    lines = log_output.getvalue().splitlines()
    assert lines, "the service logged nothing: the capture is not working"
    assert [line for line in lines if leaks(line) or any(token in line for token in tokens.values())] == []
    assert any("cmt_***" in line and "+8498*****21" in line for line in lines), "the debugging line, masked"
    verified = await api.client.get("/api/v1/audit/verify", headers=bearer(tokens["auditor"]))
    assert (await verified.json())["ok"] is True

    # The flag raised by the number in the body stays (it is public data of the event) but names no number.
    queue_entry = json.loads(after["queue entry"])
    assert [(flag["code"], flag["detail"]) for flag in queue_entry["flags"]] == [
        ("phone_in_body", "1 phone number (personal data)")
    ]
    history = json.loads(after["history 1"])
    assert [event["personal_data"] for event in history["events"]] == ["erased", "readable", "readable", "erased"]
    assert (history["state"]["title"], history["state"]["body"]) == ("(erased)", "(erased)")
    published = json.loads(after["public list"])["items"]
    assert [(item["author_name"], item["title"], item["body"]) for item in published] == [("(erased)",) * 3]
    erasure = [json.loads(line) for line in after["ndjson export"].splitlines()][-1]
    assert (erasure["type"], erasure["actor"], erasure["request_id"]) == (
        "SubjectErased",
        f"moderator:{admin_name}",
        "erase-1",
    )


async def test_every_request_is_one_json_line_with_its_request_id_and_the_moderator(
    api: Api, log_output: io.StringIO
) -> None:
    moderator = await api.token("moderator", name=f"lan-{article()[-6:]}")
    comment_id = str((await (await api.submit(article(), phone=PHONE)).json())["id"])

    response = await api.client.post(
        f"/api/v1/moderation/comments/{comment_id}/approve",
        json={"expected_version": 1},
        headers=bearer(moderator, request_id="approve-42"),
    )

    assert response.status == 200
    entries = [json.loads(line) for line in log_output.getvalue().splitlines()]
    access = [
        entry for entry in entries if entry["logger"] == "comments.access" and entry["request_id"] == "approve-42"
    ]
    assert len(access) == 1
    assert access[0]["moderator"].startswith("lan-")
    assert access[0]["route"] == "/api/v1/moderation/comments/{comment_id}/{action}"
    assert [line for line in log_output.getvalue().splitlines() if leaks(line) or moderator in line] == []


async def test_an_erasure_needs_a_vietnamese_phone_number(api: Api) -> None:
    admin = await api.token("admin")

    for body, code in [({}, "required"), ({"phone": 912}, "must_be_string"), ({"phone": "12"}, "invalid_phone")]:
        response = await api.client.post(ERASURES, json=body, headers=bearer(admin))
        assert (await conforms(response, "POST", ERASURES))["error"]["fields"] == {"phone": code}


async def test_erasing_a_number_never_seen_changes_nothing(api: Api) -> None:
    admin, auditor = await api.token("admin"), await api.token("auditor")
    head = (await (await api.client.get("/api/v1/audit/verify", headers=bearer(auditor))).json())["head_position"]

    response = await api.client.post(ERASURES, json={"phone": "0399 999 999"}, headers=bearer(admin))

    assert (await response.json())["erased"] is False
    verified = await (await api.client.get("/api/v1/audit/verify", headers=bearer(auditor))).json()
    assert verified["head_position"] == head


@pytest.mark.parametrize(
    ("logged", "written"),
    [
        ("gọi 0912 345 678 nhé", "gọi +8491*****78 nhé"),
        ("(+84) 91-234-5678", "+8491*****78"),
        ("GET /x?phone=0912+345+678 HTTP/1.1", "GET /x?phone=+8491*****78 HTTP/1.1"),
        ("GET /x?phone=%2B84912345678&y=1", "GET /x?phone=+8491*****78&y=1"),
        ("Authorization: Bearer cmt_abcDEF-_123", "Authorization: Bearer ***"),
        ("token=cmt_Zx9_-aa", "token=cmt_***"),
        ("+1 415 555 2671", "***"),
        ("position 1234567890 at 2026-12-02 09:00:00", "position 1234567890 at 2026-12-02 09:00:00"),
        ("hash 0123456789abcdef0912345678", "hash 0123456789abcdef0912345678"),
    ],
)
def test_the_log_filter_masks_numbers_and_tokens_and_leaves_other_digits(logged: str, written: str) -> None:
    record = logging.makeLogRecord({"msg": "%s", "args": (logged,), "detail": {"nested": [logged]}})

    MaskingFilter().filter(record)

    assert (record.getMessage(), vars(record)["detail"]) == (written, {"nested": [written]})


async def test_an_erased_comment_cannot_be_edited_approved_or_restored_back_into_clear_text(api: Api) -> None:
    admin, moderator = await api.token("admin"), await api.token("moderator")
    comment_id = (await (await api.submit(article(), author_name=NAME, phone=PHONE)).json())["id"]
    assert (await api.client.post(ERASURES, json={"phone": PHONE}, headers=bearer(admin))).status == 202

    edit = await api.moderate(moderator, comment_id, "edit", expected_version=1, body="Văn bản mới", note="sửa")
    approve = await api.moderate(moderator, comment_id, "approve", expected_version=1)
    reject = await api.moderate(moderator, comment_id, "reject", expected_version=1, reason_code="other")

    assert (edit.status, (await edit.json())["error"]["code"]) == (409, "invalid_transition")
    assert (approve.status, (await approve.json())["error"]["code"]) == (409, "invalid_transition")
    assert reject.status == 200
    # Restoring applies to a rejected comment: only the erasure stands in its way.
    restore = await api.moderate(moderator, comment_id, "restore", expected_version=2, note="khôi phục")
    assert (restore.status, (await restore.json())["error"]["code"]) == (409, "invalid_transition")
    entry = await api.client.get(f"/api/v1/moderation/comments/{comment_id}", headers=bearer(moderator))
    shown = await entry.json()
    assert (shown["status"], shown["author_name"], shown["body"], shown["erased"]) == (
        "rejected",
        "(erased)",
        "(erased)",
        True,
    )
