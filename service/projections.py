"""Read models: the moderation queue and the published comments per article, applied inline or rebuilt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from service import bulk
from service.bulk import one_of
from service.eventstore import RecordedEvent
from service.projection_batches import Before, Changes, Published, Wanted, fold, wanted
from service.tables import articles, checkpoints, moderation_queue, published_comments

CHECKPOINT = "views"
# The queue columns an event may change; the others are fixed at submission.
MUTABLE = (
    "status",
    "visible",
    "version",
    "author_name",
    "phone",
    "title",
    "body",
    "client_hash",
    "report_count",
    "report_reasons",
    "reason_code",
    "updated_at",
    "erased",
)
# And the published row's: its comment and article are its for good.
PUBLISHED_MUTABLE = ("author_name", "title", "body", "published_at", "position")


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
    """Apply events in position order; events at or before the checkpoint are skipped, so replays are harmless.

    However many events (one command's, a batch append's, a rebuild's batch): one query loads the queue rows they
    touch with whether each is published, projection_batches.fold() folds them in memory, and each view is written
    with a few set-based statements. Article rows are never read: their counts move by a delta in SQL.
    """
    if not recorded:
        return
    done = await checkpoint(conn) if track else 0
    batch = [item for item in recorded if item.position > done] if recorded[0].position <= done else recorded
    if batch:
        before = await load(conn, views, wanted(batch))
        await write(conn, views, fold(before, batch))
    if track and recorded[-1].position > done:
        await save_checkpoint(conn, recorded[-1].position)


async def load(conn: AsyncConnection, views: Views, want: Wanted) -> Before:
    """The queue rows a batch needs, with whether each is published: one query, two when it erases a subject."""
    q, p = views.queue, views.published
    joined = sa.select(q, p.c.published_at, p.c.position).select_from(q.outerjoin(p, p.c.comment_id == q.c.comment_id))
    # Two queries rather than one with OR: each keeps to its own index (the primary key, the subject's).
    statements = []
    if want.comment_ids:
        statements.append(joined.where(one_of(conn.dialect.name, q.c.comment_id, want.comment_ids)))
    if want.subject_ids:
        statements.append(joined.where(one_of(conn.dialect.name, q.c.subject_id, want.subject_ids)))
    queue: dict[UUID, dict[str, Any]] = {}
    published: dict[UUID, Published] = {}
    for statement in statements:
        for row in await conn.execute(statement):
            values = dict(row._mapping)
            published_at, position = values.pop("published_at"), values.pop("position")
            queue[values["comment_id"]] = values
            if position is not None:
                published[values["comment_id"]] = Published(published_at, int(position))
    return Before(queue, published)


async def write(conn: AsyncConnection, views: Views, changes: Changes) -> None:
    """Write a folded batch: multi-row inserts and executemany updates, a handful of statements per view."""
    q, p, a = views.queue, views.published, views.articles
    if changes.inserted:
        await bulk.insert(conn, q, changes.inserted)
    if changes.updated:
        await bulk.executemany(
            conn,
            sa.update(q).where(q.c.comment_id == sa.bindparam("key")),
            [{"key": row["comment_id"], **{name: row[name] for name in MUTABLE}} for row in changes.updated],
        )
    if changes.unpublished:
        await conn.execute(sa.delete(p).where(one_of(conn.dialect.name, p.c.comment_id, changes.unpublished)))
    if changes.published:
        await bulk.insert(conn, p, changes.published)
    if changes.republished:
        await bulk.executemany(
            conn,
            sa.update(p).where(p.c.comment_id == sa.bindparam("key")),
            [
                {"key": row["comment_id"], **{name: row[name] for name in PUBLISHED_MUTABLE}}
                for row in changes.republished
            ],
        )
    await _write_articles(conn, a, changes)


async def _write_articles(conn: AsyncConnection, a: sa.Table, changes: Changes) -> None:
    # Missing rows are inserted with ON CONFLICT DO NOTHING and counts move by a delta in SQL, so a batch never
    # needs to read an article row first.
    created = [
        {"article_id": article_id, "moderation": None, "closed": False, "published_count": 0, "changed_position": 0}
        for article_id, change in changes.articles.items()
        if change.created
    ]
    if created:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await bulk.executemany(conn, dialect.insert(a).on_conflict_do_nothing(index_elements=[a.c.article_id]), created)
    counted: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    for article_id, change in changes.articles.items():
        if change.changed_position is None:
            continue
        values = {"key": article_id, "delta": change.delta, "changed_position": change.changed_position}
        if change.settings is None:
            counted.append(values)
        else:
            moderation, closed = change.settings
            configured.append({**values, "moderation": moderation, "closed": closed})
    moved = sa.update(a).where(a.c.article_id == sa.bindparam("key"))
    moved = moved.values(published_count=a.c.published_count + sa.bindparam("delta", type_=sa.Integer))
    if counted:
        await bulk.executemany(conn, moved, counted)
    if configured:
        await bulk.executemany(conn, moved, configured)
