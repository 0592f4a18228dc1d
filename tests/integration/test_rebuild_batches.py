"""Batched replay: any batch size, or one event at a time, leaves the views the inline path built."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from service import bulk, eventstore, projections, rebuild
from service.application import handle
from service.codec import ERASED
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
from service.crypto import Vault, VaultSession, comment_subject
from service.db import Database, utcnow
from service.events import CommentSubmitted, comment_stream
from service.eventstore import RecordedEvent
from service.projections import Views
from service.tables import moderation_queue, published_comments, shadow_copies
from tests.integration.views import snapshot

ARTICLE = "batches-1"


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    # No live writer waits for the lock in these tests: small batches need not leave it free between them.
    monkeypatch.setattr(rebuild, "SQLITE_FREE_SECONDS", 0.0)


@pytest.fixture(params=["usual", "forced"], ids=["usual-statements", "bulk-statements-forced"])
def statements(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A small log never reaches the row counts from which writes go by compiled executemany or COPY: force them."""
    if request.param == "forced":
        monkeypatch.setattr(bulk, "MANY_ROWS", 1)
        monkeypatch.setattr(bulk, "COPY_ROWS", 1)
    return str(request.param)


def submission(subject_id: str | None = None, *, article_id: str = ARTICLE) -> SubmitComment:
    comment_id = uuid.uuid4()
    return SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        subject_id=subject_id or comment_subject(comment_id),
        author_name="Phạm Minh Châu",
        phone="+84987654321" if subject_id else None,
        title="Góp ý",
        body="Bài viết hay 👍",
        client_hash="0f" * 16,
    )


async def history(db: Database, vault: Vault) -> dict[str, Any]:
    """Every kind of event, with one comment's whole life spread over many positions and a shared subject erased."""
    subject = "p-" + uuid.uuid4().hex
    shared = [submission(subject) for _ in range(3)]
    own = [submission() for _ in range(6)]
    for command in [*shared, *own]:
        await handle(db, vault, command, now=utcnow())
    busy, rejected, hidden = own[0].comment_id, own[1].comment_id, own[2].comment_id
    steps: list[Command] = [
        ApproveComment(comment_id=busy, moderator="lan"),
        ApproveComment(comment_id=shared[0].comment_id, moderator="lan"),
        ApproveComment(comment_id=shared[1].comment_id, moderator="lan"),
        ReportComment(comment_id=busy, reason="spam"),
        ReportComment(comment_id=busy, reason="offensive"),
        EditComment(comment_id=busy, moderator="lan", note="chính tả", body="Đã sửa"),
        HideComment(comment_id=busy, moderator="lan", reason_code="other"),
        RestoreComment(comment_id=busy, moderator="lan"),
        ReportComment(comment_id=busy, reason="spam"),
        RejectComment(comment_id=rejected, moderator="lan", reason_code="offensive"),
        RestoreComment(comment_id=rejected, moderator="lan"),
        ApproveComment(comment_id=hidden, moderator="lan"),
        HideComment(comment_id=hidden, moderator="lan"),
        ChangeArticleSettings(article_id=ARTICLE, moderation="post", closed=False, admin="root"),
        EraseSubject(subject_id=subject, requested_by="moderator:root"),
    ]
    for step in steps:
        await handle(db, vault, step, now=utcnow())
    late = submission()  # post-moderated now: published at once
    await handle(db, vault, late, now=utcnow())
    return {"subject": subject, "shared": [c.comment_id for c in shared], "busy": busy, "late": late.comment_id}


@pytest.mark.parametrize("batch_size", [1, 7, 100_000])
async def test_rebuilding_in_batches_of_any_size_gives_the_inline_views(
    fresh_db: Database, vault: Vault, batch_size: int, statements: str
) -> None:
    await history(fresh_db, vault)
    inline = await snapshot(fresh_db)

    replayed = await rebuild.rebuild(fresh_db, vault, batch_size=batch_size)

    assert await snapshot(fresh_db) == inline
    async with fresh_db.read() as conn:
        assert replayed == (await eventstore.head(conn))[0]


@pytest.fixture
async def shadows(fresh_db: Database) -> AsyncIterator[list[Views]]:
    made = [Views(*shadow_copies(f"_batches_{uuid.uuid4().hex[:8]}")) for _ in range(3)]

    def tables(views: Views) -> Sequence[sa.Table]:
        return (views.queue, views.published, views.articles)

    def create(sync: Connection) -> None:
        for views in made:
            for table in tables(views):
                table.create(sync)

    def drop(sync: Connection) -> None:
        for views in made:
            for table in tables(views):
                table.drop(sync)

    async with fresh_db.write() as conn:
        await conn.run_sync(create)
    yield made
    async with fresh_db.write() as conn:
        await conn.run_sync(drop)


async def rows_of(db: Database, views: Views) -> list[list[tuple[Any, ...]]]:
    async with db.read() as conn:
        return [
            [tuple(row) for row in await conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
            for table in (views.queue, views.published, views.articles)
        ]


async def test_applying_the_log_in_one_batch_equals_applying_it_one_event_at_a_time(
    fresh_db: Database, vault: Vault, shadows: list[Views], statements: str
) -> None:
    await history(fresh_db, vault)
    async with fresh_db.read() as conn:
        log = await eventstore.read_all(conn, vault.session(), limit=100_000)
    one_by_one, in_sevens, all_at_once = shadows

    async with fresh_db.write() as conn:
        for item in log:
            await projections.apply(conn, [item], one_by_one, track=False)
        for start in range(0, len(log), 7):
            await projections.apply(conn, log[start : start + 7], in_sevens, track=False)
        await projections.apply(conn, log, all_at_once, track=False)

    expected = await rows_of(fresh_db, one_by_one)
    assert all(expected)  # queue, published and articles rows, none empty
    assert await rows_of(fresh_db, in_sevens) == expected
    assert await rows_of(fresh_db, all_at_once) == expected


async def test_one_apply_of_many_commands_events_skips_those_at_or_before_the_checkpoint(
    fresh_db: Database, vault: Vault
) -> None:
    await history(fresh_db, vault)
    comment_ids = [uuid.uuid4() for _ in range(4)]
    async with fresh_db.write() as conn:
        # Several commands appended in one transaction and projected by one call, as a batch append does; the
        # call is handed the whole log, most of it already projected.
        for comment_id in comment_ids:
            event = CommentSubmitted(
                comment_id=comment_id,
                article_id=ARTICLE,
                subject_id=comment_subject(comment_id),
                author_name="Đỗ Hà",
                title="Cùng lúc",
                body="Nhiều lệnh một giao dịch",
                visible=True,
            )
            await eventstore.append(
                conn,
                vault.session(),
                comment_stream(comment_id),
                [event],
                expected_version=0,
                actor="reader",
                now=utcnow(),
            )
        await projections.apply(conn, await eventstore.read_all(conn, vault.session(), limit=100_000))
        head_position, _hash = await eventstore.head(conn)
        assert await projections.checkpoint(conn) == head_position
    inline = await snapshot(fresh_db)
    assert set(comment_ids) <= {row[0] for row in inline["published_comments"]}

    await rebuild.rebuild(fresh_db, vault)

    assert await snapshot(fresh_db) == inline


async def test_an_erased_subjects_comments_rebuild_erased(fresh_db: Database, vault: Vault) -> None:
    made = await history(fresh_db, vault)

    await rebuild.rebuild(fresh_db, vault, batch_size=5)

    async with fresh_db.read() as conn:
        queued = (
            await conn.execute(
                sa.select(
                    moderation_queue.c.author_name,
                    moderation_queue.c.phone,
                    moderation_queue.c.title,
                    moderation_queue.c.body,
                    moderation_queue.c.client_hash,
                    moderation_queue.c.erased,
                ).where(moderation_queue.c.subject_id == made["subject"])
            )
        ).all()
        published = (
            await conn.execute(
                sa.select(published_comments.c.author_name, published_comments.c.body).where(
                    published_comments.c.comment_id.in_(made["shared"])
                )
            )
        ).all()
    assert [tuple(row) for row in queued] == [(ERASED, None, ERASED, ERASED, None, True)] * 3
    assert [tuple(row) for row in published] == [(ERASED, ERASED)] * 2


async def test_a_rebuild_holds_the_keys_of_one_batch_at_a_time(
    fresh_db: Database, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    await history(fresh_db, vault)
    sessions: list[VaultSession] = []
    real_session = vault.session

    def session() -> VaultSession:
        sessions.append(real_session())
        return sessions[-1]

    monkeypatch.setattr(vault, "session", session)

    await rebuild.rebuild(fresh_db, vault, batch_size=4)

    assert len(sessions) > 5
    assert max(len(made._keys) for made in sessions) <= 4


async def test_a_rebuild_that_fails_midway_raises_its_error_and_leaves_the_live_views_alone(
    fresh_db: Database, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    await history(fresh_db, vault)
    before = await snapshot(fresh_db)
    real_apply = projections.apply
    calls = 0

    async def fails_at_the_third_batch(
        conn: AsyncConnection, recorded: Sequence[RecordedEvent], views: Views = projections.LIVE, *, track: bool = True
    ) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk full")
        await real_apply(conn, recorded, views, track=track)

    monkeypatch.setattr(projections, "apply", fails_at_the_third_batch)

    with pytest.raises(RuntimeError, match="disk full"):
        await rebuild.rebuild(fresh_db, vault, batch_size=5)

    assert await snapshot(fresh_db) == before
    async with fresh_db.read() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    assert not [name for name in names if "_rebuild_" in name]
