"""The readers' read side: an article's published comments page by page (cached, with an ETag) and counts."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa

from service.changes import ArticleState, ChangeFeed
from service.db import Database, iso, utc
from service.pagecache import PageCache
from service.tables import articles, published_comments

MAX_COUNT_ARTICLES = 100
ORDERS = ("oldest", "newest")
Order = Literal["oldest", "newest"]


@dataclass(frozen=True, slots=True)
class PublishedComment:
    comment_id: UUID
    parent_id: UUID | None
    author_name: str
    title: str
    body: str
    published_at: datetime

    def view(self) -> dict[str, Any]:
        return {
            "id": str(self.comment_id),
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "author_name": self.author_name,
            "title": self.title,
            "body": self.body,
            "published_at": iso(self.published_at),
        }


@dataclass(frozen=True, slots=True)
class PageQuery:
    article_id: str
    page: int = 1
    per_page: int = 20
    order: Order = "oldest"


@dataclass(frozen=True, slots=True)
class Page:
    """The page's ETag, and its JSON (UTF-8) unless the caller already holds this version (`body` is None)."""

    etag: str
    body: bytes | None


def etag_of(article_id: str, changed_position: int, query: tuple[object, ...]) -> str:
    # Stable across processes (a load balancer may send the revalidation elsewhere): no salted hash().
    detail = "-".join(str(part) for part in query)
    return f'W/"{changed_position}-{detail}-{zlib.crc32(article_id.encode()):08x}"'


async def page(
    db: Database, changes: ChangeFeed, cache: PageCache, query: PageQuery, *, if_none_match: str = ""
) -> Page:
    """One page of the article's published comments. The change feed knows the article's position from memory,
    so a 304 or a page already rendered costs no statement; a miss reads the page's rows and nothing else.

    Rendered pages are cached by the position of the article's last change: a change anywhere makes a new key,
    and nothing older than the feed's view of the article is ever served.
    """
    article = await changes.state(query.article_id)
    etag = etag_of(query.article_id, article.changed_position, (query.page, query.per_page, query.order))
    if etag in if_none_match:
        return Page(etag, None)
    key = (query.article_id, article.changed_position, query.page, query.per_page, query.order)
    if (cached := cache.get(key)) is not None:
        return Page(etag, cached)
    position = published_comments.c.position
    async with db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(published_comments, *_ARTICLE)
                .join(articles, articles.c.article_id == published_comments.c.article_id)
                .where(published_comments.c.article_id == query.article_id)
                .order_by(position if query.order == "oldest" else position.desc())
                .limit(query.per_page)
                .offset((query.page - 1) * query.per_page)
            )
        ).all()
    if rows:
        # The rows carry the article as of their own snapshot: never older than the feed's, perhaps newer (another
        # process's change not learnt yet). Total, items and key then agree, and the feed learns it at once.
        shown = ArticleState(int(rows[0].changed_position), int(rows[0].published_count), bool(rows[0].closed))
        changes.saw(query.article_id, shown)
        if shown.changed_position != article.changed_position:
            etag = etag_of(query.article_id, shown.changed_position, (query.page, query.per_page, query.order))
            key = (query.article_id, shown.changed_position, query.page, query.per_page, query.order)
        article = shown
    body = {
        "article_id": query.article_id,
        "total": article.published_count,
        "closed": article.closed,
        "page": query.page,
        "per_page": query.per_page,
        "items": [_comment(row).view() for row in rows],
    }
    rendered = json.dumps(body, ensure_ascii=False).encode("utf-8")
    cache.put(key, rendered)
    return Page(etag, rendered)


async def counts(changes: ChangeFeed, article_ids: Sequence[str]) -> dict[str, int]:
    """Published comments per article, 0 for an article nobody commented on (or that does not exist), from the
    change feed's memory: only articles it has not seen yet cost a query, all of them together."""
    states = await changes.states(article_ids)
    return {article_id: state.published_count for article_id, state in states.items()}


async def all_of(db: Database, article_id: str) -> list[PublishedComment]:
    """Every published comment of the article in display order (the demo's server-side list)."""
    async with db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(published_comments)
                .where(published_comments.c.article_id == article_id)
                .order_by(published_comments.c.position)
            )
        ).all()
    return [_comment(row) for row in rows]


_ARTICLE = (articles.c.changed_position, articles.c.published_count, articles.c.closed)


def _comment(row: Any) -> PublishedComment:
    return PublishedComment(
        comment_id=row.comment_id,
        parent_id=row.parent_id,
        author_name=row.author_name,
        title=row.title,
        body=row.body,
        published_at=utc(row.published_at),
    )
