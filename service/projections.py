"""Read models: the moderation queue and the published comments per article, applied inline or rebuilt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.codec import ERASED
from service.events import (
    ArticleSettingsChanged,
    CommentApproved,
    CommentEdited,
    CommentHidden,
    CommentRejected,
    CommentReported,
    CommentRestored,
    CommentSubmitted,
    SubjectErased,
)
from service.eventstore import RecordedEvent
from service.tables import articles, checkpoints, moderation_queue, published_comments

CHECKPOINT = "views"


@dataclass(frozen=True, slots=True)
class Views:
    """The tables one projection run writes: the live ones, or a rebuild's shadow copies."""

    queue: sa.Table
    published: sa.Table
    articles: sa.Table


LIVE = Views(moderation_queue, published_comments, articles)


async def checkpoint(conn: AsyncConnection, name: str = CHECKPOINT) -> int:
    value = await conn.scalar(sa.select(checkpoints.c.position).where(checkpoints.c.name == name))
    return int(value or 0)


async def save_checkpoint(conn: AsyncConnection, position: int, name: str = CHECKPOINT) -> None:
    updated = await conn.execute(sa.update(checkpoints).where(checkpoints.c.name == name).values(position=position))
    if not updated.rowcount:
        await conn.execute(sa.insert(checkpoints).values(name=name, position=position))


async def apply(
    conn: AsyncConnection, recorded: Sequence[RecordedEvent], views: Views = LIVE, *, track: bool = True
) -> None:
    """Apply events in position order; events at or before the checkpoint are skipped, so replays are harmless."""
    if not recorded:
        return
    done = await checkpoint(conn) if track else 0
    for item in recorded:
        if item.position > done:
            await _apply_one(conn, views, item)
    if track and recorded[-1].position > done:
        await save_checkpoint(conn, recorded[-1].position)


async def _ensure_article(conn: AsyncConnection, views: Views, article_id: str) -> None:
    t = views.articles
    exists = await conn.scalar(sa.select(t.c.article_id).where(t.c.article_id == article_id))
    if exists is None:
        await conn.execute(
            sa.insert(t).values(
                article_id=article_id, moderation=None, closed=False, published_count=0, changed_position=0
            )
        )


async def _touch_article(conn: AsyncConnection, views: Views, article_id: str, position: int, delta: int) -> None:
    t = views.articles
    await conn.execute(
        sa.update(t)
        .where(t.c.article_id == article_id)
        .values(published_count=t.c.published_count + delta, changed_position=position)
    )


async def _queue_row(conn: AsyncConnection, views: Views, comment_id: object) -> sa.RowMapping | None:
    row = (await conn.execute(sa.select(views.queue).where(views.queue.c.comment_id == comment_id))).first()
    return None if row is None else row._mapping


async def _publish(conn: AsyncConnection, views: Views, row: sa.RowMapping, item: RecordedEvent) -> None:
    await conn.execute(
        sa.insert(views.published).values(
            comment_id=row["comment_id"],
            article_id=row["article_id"],
            parent_id=row["parent_id"],
            author_name=row["author_name"],
            title=row["title"],
            body=row["body"],
            published_at=item.recorded_at,
            position=item.position,
        )
    )
    await _touch_article(conn, views, row["article_id"], item.position, +1)


async def _unpublish(conn: AsyncConnection, views: Views, row: sa.RowMapping, item: RecordedEvent) -> None:
    deleted = await conn.execute(sa.delete(views.published).where(views.published.c.comment_id == row["comment_id"]))
    if deleted.rowcount:
        await _touch_article(conn, views, row["article_id"], item.position, -1)


async def _set_status(
    conn: AsyncConnection, views: Views, item: RecordedEvent, row: sa.RowMapping, **values: Any
) -> None:
    was_visible = bool(row["visible"])
    await conn.execute(
        sa.update(views.queue)
        .where(views.queue.c.comment_id == row["comment_id"])
        .values(version=item.stream_version, updated_at=item.recorded_at, **values)
    )
    now_visible = values.get("visible", was_visible)
    if now_visible and not was_visible:
        await _publish(conn, views, row, item)
    elif was_visible and not now_visible:
        await _unpublish(conn, views, row, item)


async def _apply_one(conn: AsyncConnection, views: Views, item: RecordedEvent) -> None:
    # A match that ends in assert_never: an event type added to the union but not here is a mypy error, not an
    # event that silently projects nothing.
    event = item.event
    match event:
        case CommentSubmitted():
            await _apply_submitted(conn, views, item, event)
        case ArticleSettingsChanged():
            await _apply_settings(conn, views, item, event)
        case SubjectErased():
            await _apply_erased(conn, views, item, event)
        case (
            CommentApproved()
            | CommentRejected()
            | CommentHidden()
            | CommentRestored()
            | CommentEdited()
            | CommentReported()
        ):
            await _apply_to_comment(conn, views, item, event)
        case _:
            assert_never(event)


CommentChange = CommentApproved | CommentRejected | CommentHidden | CommentRestored | CommentEdited | CommentReported


async def _apply_to_comment(conn: AsyncConnection, views: Views, item: RecordedEvent, event: CommentChange) -> None:
    row = await _queue_row(conn, views, event.comment_id)
    if row is None:
        return  # a comment the view never saw (impossible in a consistent log); nothing to update
    match event:
        case CommentApproved():
            await _set_status(conn, views, item, row, **_decided("approved", None))
        case CommentRejected():
            await _set_status(conn, views, item, row, **_decided("rejected", event.reason_code))
        case CommentHidden():
            await _set_status(conn, views, item, row, **_decided("hidden", event.reason_code))
        case CommentRestored() if row["status"] == "hidden":
            await _set_status(conn, views, item, row, status="approved", visible=True, reason_code=None)
        case CommentRestored():
            # A restored rejection goes back to the queue, unpublished.
            await _set_status(conn, views, item, row, status="pending", visible=False, reason_code=None)
        case CommentEdited():
            await _apply_edited(conn, views, item, event, row)
        case CommentReported():
            await _apply_reported(conn, views, item, event, row)
        case _:
            assert_never(event)


def _decided(status: str, reason_code: str | None) -> dict[str, Any]:
    """A moderator's decision: the new status and reason, published only when approved, open reports settled."""
    return {
        "status": status,
        "visible": status == "approved",
        "reason_code": reason_code,
        "report_count": 0,
        "report_reasons": [],
    }


async def _apply_settings(
    conn: AsyncConnection, views: Views, item: RecordedEvent, event: ArticleSettingsChanged
) -> None:
    await _ensure_article(conn, views, event.article_id)
    await conn.execute(
        sa.update(views.articles)
        .where(views.articles.c.article_id == event.article_id)
        # The published list shows whether the article is closed, so its ETag must move too.
        .values(moderation=event.moderation, closed=event.closed, changed_position=item.position)
    )


async def _apply_edited(
    conn: AsyncConnection, views: Views, item: RecordedEvent, event: CommentEdited, row: sa.RowMapping
) -> None:
    await conn.execute(
        sa.update(views.queue)
        .where(views.queue.c.comment_id == event.comment_id)
        .values(title=event.title, body=event.body, version=item.stream_version, updated_at=item.recorded_at)
    )
    changed = await conn.execute(
        sa.update(views.published)
        .where(views.published.c.comment_id == event.comment_id)
        .values(title=event.title, body=event.body)
    )
    if changed.rowcount:
        await _touch_article(conn, views, row["article_id"], item.position, 0)


async def _apply_reported(
    conn: AsyncConnection, views: Views, item: RecordedEvent, event: CommentReported, row: sa.RowMapping
) -> None:
    reasons = [*row["report_reasons"], event.reason]
    await conn.execute(
        sa.update(views.queue)
        .where(views.queue.c.comment_id == event.comment_id)
        .values(
            report_count=row["report_count"] + 1,
            report_reasons=reasons,
            version=item.stream_version,
            updated_at=item.recorded_at,
        )
    )


async def _apply_submitted(conn: AsyncConnection, views: Views, item: RecordedEvent, event: CommentSubmitted) -> None:
    await _ensure_article(conn, views, event.article_id)
    erased = not item.pii_readable
    values = {
        "comment_id": event.comment_id,
        "article_id": event.article_id,
        "parent_id": event.parent_id,
        "status": "pending",
        "visible": event.visible,
        "version": item.stream_version,
        "subject_id": event.subject_id,
        "author_name": event.author_name,
        "phone": event.phone,
        "title": event.title,
        "body": event.body,
        # An erased subject's comment replays with no address hash, as the live view was left by the erasure.
        "client_hash": None if erased else event.client_hash,
        "flags": [{"code": f.code, "field": f.field, "detail": f.detail} for f in event.flags],
        "report_count": 0,
        "report_reasons": [],
        "reason_code": None,
        "submitted_at": item.recorded_at,
        "updated_at": item.recorded_at,
        "erased": erased,
    }
    await conn.execute(sa.insert(views.queue).values(**values))
    if event.visible:
        row = await _queue_row(conn, views, event.comment_id)
        assert row is not None
        await _publish(conn, views, row, item)


async def _apply_erased(conn: AsyncConnection, views: Views, item: RecordedEvent, event: SubjectErased) -> None:
    q, p = views.queue, views.published
    comment_ids = (await conn.execute(sa.select(q.c.comment_id).where(q.c.subject_id == event.subject_id))).scalars()
    ids = list(comment_ids)
    if not ids:
        return
    await conn.execute(
        sa.update(q)
        .where(q.c.comment_id.in_(ids))
        .values(author_name=ERASED, phone=None, title=ERASED, body=ERASED, erased=True, client_hash=None)
    )
    touched = (await conn.execute(sa.select(p.c.article_id).where(p.c.comment_id.in_(ids)).distinct())).scalars()
    for article_id in list(touched):
        await _touch_article(conn, views, article_id, item.position, 0)
    await conn.execute(
        sa.update(p).where(p.c.comment_id.in_(ids)).values(author_name=ERASED, title=ERASED, body=ERASED)
    )
