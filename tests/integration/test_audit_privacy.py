"""Personal data on request and by the calendar: erasure, retention, a subject's export, and what a rebuild keeps."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from service import privacy, subjects, submissions
from service.application import handle
from service.commands import ApproveComment, ReportComment, SubmitComment
from service.crypto import Vault, comment_subject
from service.db import Database, utcnow
from service.events import SubjectErased
from service.eventstore import head
from service.rebuild import rebuild
from service.tables import events, moderation_queue, subject_keys
from service.text import normalize_phone

LONG_AGO = utcnow() - timedelta(days=400)
RECENTLY = utcnow() - timedelta(days=10)


async def a_comment(
    db: Database, vault: Vault, *, phone: str | None, at: datetime, name: str = "Vũ Thị Mai"
) -> uuid.UUID:
    comment_id = uuid.uuid4()
    normalized = None if phone is None else normalize_phone(phone)
    subject = comment_subject(comment_id) if normalized is None else subjects.UNRESOLVED
    submit = SubmitComment(
        comment_id=comment_id,
        article_id="privacy",
        subject_id=subject,
        author_name=name,
        phone=normalized,
        title="Góp ý",
        body="Nội dung riêng tư.",
    )
    await submissions.record(db, vault, submit, now=at)
    return comment_id


async def _queue_row(db: Database, comment_id: uuid.UUID) -> sa.RowMapping:
    async with db.read() as conn:
        row = (await conn.execute(sa.select(moderation_queue).where(moderation_queue.c.comment_id == comment_id))).one()
    return row._mapping


async def _erasures_recorded(db: Database) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).where(events.c.type == "SubjectErased")) or 0)


async def test_retention_erases_only_phone_numbers_silent_for_longer_than_the_limit(
    fresh_db: Database, vault: Vault
) -> None:
    silent = await a_comment(fresh_db, vault, phone="0911 111 111", at=LONG_AGO)
    still_active = [
        await a_comment(fresh_db, vault, phone="0922 222 222", at=LONG_AGO),
        await a_comment(fresh_db, vault, phone="0922 222 222", at=RECENTLY),
    ]
    without_phone = await a_comment(fresh_db, vault, phone=None, at=LONG_AGO)

    done = await privacy.apply_retention(fresh_db, vault, older_than=timedelta(days=365), now=utcnow())

    assert [(erasure.erased, erasure.comments) for erasure in done] == [(True, 1)]
    assert (await _queue_row(fresh_db, silent))["author_name"] == "(erased)"
    assert (await _queue_row(fresh_db, silent))["phone"] is None
    for kept in [*still_active, without_phone]:
        assert (await _queue_row(fresh_db, kept))["author_name"] == "Vũ Thị Mai"


async def test_retention_run_again_finds_nothing_and_records_nothing(fresh_db: Database, vault: Vault) -> None:
    await a_comment(fresh_db, vault, phone="0933 333 333", at=LONG_AGO)
    await privacy.apply_retention(fresh_db, vault, older_than=timedelta(days=365), now=utcnow())
    async with fresh_db.read() as conn:
        position, _hash = await head(conn)

    again = await privacy.apply_retention(fresh_db, vault, older_than=timedelta(days=365), now=utcnow())

    async with fresh_db.read() as conn:
        assert (again, await head(conn)) == ([], (position, _hash))
    assert await _erasures_recorded(fresh_db) == 1


async def test_an_erasure_shreds_the_key_records_one_event_and_a_second_request_changes_nothing(
    fresh_db: Database, vault: Vault
) -> None:
    first = await a_comment(fresh_db, vault, phone="0944 444 444", at=RECENTLY)
    second = await a_comment(fresh_db, vault, phone="+84 944 444 444", at=utcnow())
    subject = await privacy.phone_subject(fresh_db, vault, "0944444444", utcnow())
    assert subject is not None

    erased = await privacy.erase_phone(fresh_db, vault, "0944444444", requested_by="moderator:lan", now=utcnow())
    again = await privacy.erase_phone(fresh_db, vault, "0944444444", requested_by="moderator:lan", now=utcnow())

    assert (erased.subject_id, erased.erased, erased.comments) == (subject, True, 2)
    assert (again.subject_id, again.erased, again.comments) == (None, False, 0)
    assert await _erasures_recorded(fresh_db) == 1
    async with fresh_db.read() as conn:
        assert (
            await conn.scalar(sa.select(subject_keys.c.subject_id).where(subject_keys.c.subject_id == subject)) is None
        )
        erasure = (await conn.execute(sa.select(events).where(events.c.type == "SubjectErased"))).one()
    assert (erasure.stream_id, erasure.actor, erasure.data["requested_by"]) == (
        f"subject-{subject}",
        "moderator:lan",
        "moderator:lan",
    )
    for comment_id in (first, second):
        row = await _queue_row(fresh_db, comment_id)
        assert (row["author_name"], row["phone"], row["title"], row["body"], row["erased"]) == (
            "(erased)",
            None,
            "(erased)",
            "(erased)",
            True,
        )
    assert SubjectErased.__name__ == erasure.type


async def test_a_rebuild_after_an_erasure_brings_nothing_back(fresh_db: Database, vault: Vault) -> None:
    erased = await a_comment(fresh_db, vault, phone="0955 555 555", at=RECENTLY)
    kept = await a_comment(fresh_db, vault, phone="0966 666 666", at=RECENTLY)
    await handle(fresh_db, vault, ApproveComment(comment_id=erased, moderator="lan"), now=utcnow())
    await privacy.erase_phone(fresh_db, vault, "0955555555", requested_by="moderator:lan", now=utcnow())
    before = [dict(await _queue_row(fresh_db, comment_id)) for comment_id in (erased, kept)]

    await rebuild(fresh_db, vault)

    after = [dict(await _queue_row(fresh_db, comment_id)) for comment_id in (erased, kept)]
    assert after == before
    assert (after[0]["author_name"], after[0]["phone"], after[1]["phone"]) == ("(erased)", None, "+84966666666")


async def test_a_subject_export_holds_comments_events_reports_and_key_metadata_but_no_key(
    fresh_db: Database, vault: Vault
) -> None:
    approved = await a_comment(fresh_db, vault, phone="0977 777 777", at=RECENTLY)
    await a_comment(fresh_db, vault, phone="0977.777.777", at=utcnow())
    await handle(fresh_db, vault, ApproveComment(comment_id=approved, moderator="lan"), now=utcnow())
    report = ReportComment(comment_id=approved, reason="offensive", reporter_hash="someone-else")
    await handle(fresh_db, vault, report, now=utcnow())

    document = await privacy.subject_export(fresh_db, vault, "+84977777777", now=utcnow())

    assert document["phone"] == "+8497*****77"
    assert document["key"]["exists"] is True
    assert [comment["phone"] for comment in document["comments"]] == ["+84977777777"] * 2
    assert [comment["status"] for comment in document["comments"]] == ["approved", "pending"]
    assert [event["type"] for event in document["events"]] == [
        "CommentSubmitted",
        "CommentSubmitted",
        "CommentApproved",
        "CommentReported",
    ]
    assert document["reports"] == [
        {"comment_id": str(approved), "reason": "offensive", "reported_at": document["events"][3]["recorded_at"]}
    ]
    # Staff names and other people's hashes are not the subject's data; the wrapped key is nobody's business.
    assert [event["actor"] for event in document["events"]] == ["reader", "reader", "moderator", "reader"]
    assert document["events"][2]["data"]["moderator"] == "moderator"
    text = json.dumps(document, ensure_ascii=False)
    assert "moderator:lan" not in text
    assert "someone-else" not in text
    assert "wrapped" not in text


async def test_a_subject_export_after_an_erasure_says_so_and_holds_nothing_readable(
    fresh_db: Database, vault: Vault
) -> None:
    await a_comment(fresh_db, vault, phone="0988 888 888", at=RECENTLY, name="Hà Văn Quế")
    await privacy.erase_phone(fresh_db, vault, "0988888888", requested_by="moderator:lan", now=utcnow())

    document = await privacy.subject_export(fresh_db, vault, "0988 888 888", now=utcnow())

    # The erasure deleted the only link from the number to its subject: the number now has nothing at all.
    assert (document["subject_id"], document["key"]["exists"], document["events"]) == (None, False, [])
    text = json.dumps(document, ensure_ascii=False)
    assert "Hà Văn Quế" not in text
    assert "+84988888888" not in text
