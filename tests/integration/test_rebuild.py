"""Rebuilding the read models from the whole log gives exactly the views that inline projection built."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, projections, rebuild, seeding
from service.application import handle
from service.commands import (
    ApproveComment,
    ChangeArticleSettings,
    Command,
    EditComment,
    EraseSubject,
    HideComment,
    RejectComment,
    ReportComment,
    RestoreComment,
    SubmitComment,
)
from service.crypto import Vault, comment_subject
from service.db import Database, utcnow
from service.events import CommentSubmitted, comment_stream
from service.subjects import new_phone_subject
from tests.integration.views import snapshot


async def submit(db: Database, vault: Vault, article_id: str, *, subject_id: str | None = None) -> uuid.UUID:
    comment_id = uuid.uuid4()
    command = SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        subject_id=subject_id or comment_subject(comment_id),
        author_name="Nguyễn Thị Thu",
        phone="+84912000111" if subject_id else None,
        title="Ý kiến",
        body="Dòng một\nDòng hai 😊",
    )
    await handle(db, vault, command, now=utcnow())
    return comment_id


async def test_rebuilding_after_the_seed_leaves_every_view_identical(db: Database, vault: Vault) -> None:
    await seeding.seed(db, vault, utcnow)
    before = await snapshot(db)

    replayed = await rebuild.rebuild(db, vault)

    assert await snapshot(db) == before
    async with db.read() as conn:
        head_position, _hash = await eventstore.head(conn)
        assert await projections.checkpoint(conn) == head_position
    assert replayed == head_position
    assert any(row for row in before["published_comments"])


async def test_rebuilding_after_edits_reports_hides_restores_and_an_erasure_matches_the_inline_views(
    db: Database, vault: Vault
) -> None:
    article_id = f"rebuild-{uuid.uuid4().hex[:8]}"
    subject_id = new_phone_subject()
    edited, hidden, rejected, erased = [await submit(db, vault, article_id) for _ in range(4)]
    shared = await submit(db, vault, article_id, subject_id=subject_id)
    for comment_id in (edited, hidden, erased, shared):
        await handle(db, vault, ApproveComment(comment_id=comment_id, moderator="bien-tap-1"), now=utcnow())
    steps: list[Command] = [
        EditComment(comment_id=edited, moderator="bien-tap-1", note="chính tả", body="Đã sửa"),
        ReportComment(comment_id=edited, reason="spam"),
        HideComment(comment_id=hidden, moderator="bien-tap-1", reason_code="other"),
        RestoreComment(comment_id=hidden, moderator="bien-tap-1"),
        HideComment(comment_id=hidden, moderator="bien-tap-1"),
        RejectComment(comment_id=rejected, moderator="bien-tap-1", reason_code="offensive"),
        ChangeArticleSettings(article_id=article_id, moderation="post", closed=False, admin="admin"),
        EraseSubject(subject_id=subject_id, requested_by="moderator:admin"),
    ]
    for command in steps:
        await handle(db, vault, command, now=utcnow())
    await submit(db, vault, article_id)  # post-moderated now: published at once
    before = await snapshot(db)

    await rebuild.rebuild(db, vault)

    assert await snapshot(db) == before


async def test_comments_submitted_while_a_rebuild_replays_are_in_the_swapped_views(
    db: Database, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeding.seed(db, vault, utcnow)
    monkeypatch.setattr(rebuild, "BATCH", 20)
    article_id = f"during-{uuid.uuid4().hex[:8]}"
    replaying = asyncio.Event()

    async def writer() -> list[uuid.UUID]:
        await replaying.wait()
        return [await submit(db, vault, article_id) for _ in range(3)]

    _replayed, written = await asyncio.wait_for(
        asyncio.gather(rebuild.rebuild(db, vault, lambda _done, _total: replaying.set()), writer()), timeout=60
    )

    after = await snapshot(db)
    assert set(written) <= {row[0] for row in after["moderation_queue"]}
    await rebuild.rebuild(db, vault)
    assert await snapshot(db) == after


async def test_an_event_committed_after_the_replay_but_before_the_swap_is_caught_up(
    db: Database, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeding.seed(db, vault, utcnow)
    late = uuid.uuid4()
    real_lock = rebuild.lock_head

    async def lock_after_a_late_commit(conn: AsyncConnection) -> tuple[int, str]:
        # What a live submission committing in that gap does: append and project inline into the live views.
        event = CommentSubmitted(
            comment_id=late,
            article_id=f"late-{late.hex[:8]}",
            subject_id=comment_subject(late),
            author_name="Trễ",
            title="Đến muộn",
            body="Vẫn phải có mặt",
            visible=True,
        )
        recorded = await eventstore.append(
            conn, vault.session(), comment_stream(late), [event], expected_version=0, actor="reader", now=utcnow()
        )
        await projections.apply(conn, recorded)
        return await real_lock(conn)

    monkeypatch.setattr(rebuild, "lock_head", lock_after_a_late_commit)
    await rebuild.rebuild(db, vault)
    monkeypatch.undo()

    after = await snapshot(db)
    assert late in {row[0] for row in after["moderation_queue"]}
    assert late in {row[0] for row in after["published_comments"]}
    async with db.read() as conn:
        head_position, _hash = await eventstore.head(conn)
        assert await projections.checkpoint(conn) == head_position
    await rebuild.rebuild(db, vault)
    assert await snapshot(db) == after


async def test_a_rebuild_reports_progress_up_to_the_head_and_drops_its_shadow_tables(
    db: Database, vault: Vault
) -> None:
    await seeding.seed(db, vault, utcnow)
    calls: list[tuple[int, int]] = []

    await rebuild.rebuild(db, vault, lambda done, total: calls.append((done, total)))

    async with db.read() as conn:
        head_position, _hash = await eventstore.head(conn)
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    assert calls[-1] == (head_position, head_position)
    assert [done for done, _total in calls] == sorted(done for done, _total in calls)
    assert not [name for name in names if "_rebuild_" in name]
