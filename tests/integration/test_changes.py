"""The change feed: articles' states from memory, this process's writes at once, other processes' within a bound."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy import event

from service import rebuild
from service.application import handle
from service.changes import UNKNOWN, ArticleState, ChangeFeed
from service.commands import SubmitComment
from service.crypto import Vault, comment_subject
from service.db import Database, connect, utcnow
from service.tables import articles
from tests.conftest import PG_URL, Databases, eventually

QUIET = 3600.0  # a poll or fallback interval that never comes round during a test


async def publish(db: Database, vault: Vault, article_id: str) -> None:
    """One comment, published at once (post-moderation), written through `db`."""
    comment_id = uuid.uuid4()
    command = SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        subject_id=comment_subject(comment_id),
        author_name="Trần Văn Bình",
        title="Ý kiến",
        body="Đồng ý với bài viết.",
        default_moderation="post",
    )
    await handle(db, vault, command, now=utcnow())


def new_article() -> str:
    return f"feed-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def running(feed: ChangeFeed) -> AsyncIterator[ChangeFeed]:
    feed.start()
    try:
        # The poll's first look, so that a test's counting of statements starts after it.
        assert await eventually(lambda: _looked(feed))
        yield feed
    finally:
        await feed.stop()


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
async def other_db(database_url: str) -> AsyncIterator[Database]:
    """A second pool on the same database: another process, as far as the feed can tell."""
    database = connect(database_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="module")
def postgres_url(databases: Databases) -> str:
    return databases.new("postgres")


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    database = connect(postgres_url)
    yield database
    await database.dispose()


@pytest.fixture
async def pg_other_db(postgres_url: str) -> AsyncIterator[Database]:
    database = connect(postgres_url)
    yield database
    await database.dispose()


async def terminate(pid: int) -> None:
    admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def _looked(feed: ChangeFeed) -> bool:
    return feed.seen is not None


async def shows(feed: ChangeFeed, article_id: str, count: int) -> bool:
    return (await feed.state(article_id)).published_count == count


# --- memory ---------------------------------------------------------------------------------------------------


async def test_an_articles_state_is_read_once_then_answered_from_memory(db: Database, vault: Vault) -> None:
    article_id = new_article()
    await publish(db, vault, article_id)
    async with running(ChangeFeed(db, poll_seconds=QUIET, listen=False)) as feed:
        with statements(db) as first:
            loaded = await feed.state(article_id)
        with statements(db) as again:
            remembered = await feed.state(article_id)

    assert loaded == remembered
    assert (loaded.published_count, loaded.closed) == (1, False)
    assert len(first) == 1
    assert again == []


async def test_an_article_nobody_commented_on_is_remembered_as_empty(db: Database) -> None:
    async with running(ChangeFeed(db, poll_seconds=QUIET, listen=False)) as feed:
        first = await feed.states(["never-a", "never-b"])
        with statements(db) as again:
            second = await feed.states(["never-b", "never-a"])

    assert first == second == {"never-a": UNKNOWN, "never-b": UNKNOWN}
    assert again == []


async def test_the_feed_keeps_at_most_its_bound_of_articles(db: Database) -> None:
    async with running(ChangeFeed(db, poll_seconds=QUIET, listen=False, max_articles=2)) as feed:
        for article_id in ("lru-a", "lru-b", "lru-c"):
            await feed.state(article_id)
        with statements(db) as kept:
            await feed.state("lru-c")
            await feed.state("lru-b")
        with statements(db) as dropped:
            await feed.state("lru-a")

    assert kept == []
    assert len(dropped) == 1


# --- this process's writes -------------------------------------------------------------------------------------


async def test_a_write_of_this_process_is_seen_by_the_next_read_without_waiting(db: Database, vault: Vault) -> None:
    article_id = new_article()
    async with running(ChangeFeed(db, poll_seconds=QUIET, listen=False)) as feed:
        before = await feed.state(article_id)
        await publish(db, vault, article_id)
        after = await feed.state(article_id)
        with statements(db) as settled:
            await feed.state(article_id)

    assert before == UNKNOWN
    assert after.published_count == 1
    assert after.changed_position > 0
    assert settled == []  # one catch-up after the write, then memory again


# --- other processes' writes -----------------------------------------------------------------------------------


async def test_another_processs_write_reaches_the_feed_within_a_bounded_wait(
    db: Database, other_db: Database, vault: Vault
) -> None:
    # SQLite: the checkpoint poll (50 ms); PostgreSQL: NOTIFY alone, the fallback check being out of the way.
    article_id = new_article()
    feed = ChangeFeed(db, poll_seconds=None if db.is_sqlite else QUIET)
    async with running(feed):
        if not db.is_sqlite:
            assert await eventually(lambda: _connected(feed))
        assert await feed.state(article_id) == UNKNOWN

        await publish(other_db, vault, article_id)

        assert await eventually(lambda: shows(feed, article_id, 1))


async def test_a_rebuild_elsewhere_makes_the_feed_start_afresh_and_drop_its_pages(
    db: Database, other_db: Database, vault: Vault
) -> None:
    article_id = new_article()
    await publish(other_db, vault, article_id)
    async with other_db.write() as conn:  # a broken view, which is what a rebuild is run to repair
        await conn.execute(sa.update(articles).where(articles.c.article_id == article_id).values(published_count=99))
    resets: list[str] = []
    feed = ChangeFeed(db, poll_seconds=0.05, on_reset=lambda: resets.append("pages"))
    async with running(feed):
        assert (await feed.state(article_id)).published_count == 99

        await rebuild.rebuild(other_db, vault)

        assert await eventually(lambda: shows(feed, article_id, 1))
        assert resets


# --- PostgreSQL: LISTEN and its fallback -----------------------------------------------------------------------


async def _connected(feed: ChangeFeed) -> bool:
    return feed.listener_pid is not None


@pytest.mark.postgres
async def test_when_the_listen_connection_is_killed_the_fallback_check_catches_the_change_and_it_reconnects(
    pg_db: Database, pg_other_db: Database, vault: Vault
) -> None:
    article_id = new_article()
    feed = ChangeFeed(pg_db, poll_seconds=0.05, reconnect_seconds=(3.0, 3.0))
    async with running(feed):
        assert await eventually(lambda: _connected(feed))
        killed = feed.listener_pid
        assert killed is not None
        await feed.state(article_id)

        await terminate(killed)
        assert await eventually(lambda: _disconnected(feed))
        await publish(pg_other_db, vault, article_id)

        assert await eventually(lambda: shows(feed, article_id, 1), seconds=2.5)
        assert feed.connects == 1, "seen before the listener came back: the fallback check caught it"
        assert await eventually(lambda: _connected(feed))
        assert feed.listener_pid != killed
        assert feed.connects == 2


@pytest.mark.postgres
async def test_a_change_made_while_nobody_listened_is_not_missed_once_the_listener_is_back(
    pg_db: Database, pg_other_db: Database, vault: Vault
) -> None:
    article_id = new_article()
    feed = ChangeFeed(pg_db, poll_seconds=QUIET, reconnect_seconds=(2.0, 2.0))
    async with running(feed):
        assert await eventually(lambda: _connected(feed))
        await publish(pg_other_db, vault, article_id)
        assert await eventually(lambda: shows(feed, article_id, 1))
        killed = feed.listener_pid
        assert killed is not None

        await terminate(killed)
        assert await eventually(lambda: _disconnected(feed))
        await publish(pg_other_db, vault, article_id)
        assert feed.connects == 1, "the second comment must be committed while nobody listens"

        # No fallback check comes round: only forgetting everything on reconnecting can show the second comment.
        assert await eventually(lambda: _reconnected(feed, killed))
        assert await shows(feed, article_id, 2)


@pytest.mark.postgres
async def test_a_notice_carries_the_articles_whole_state(pg_db: Database, pg_other_db: Database, vault: Vault) -> None:
    article_id = new_article()
    feed = ChangeFeed(pg_db, poll_seconds=QUIET)
    async with running(feed):
        assert await eventually(lambda: _connected(feed))
        assert await feed.state(article_id) == UNKNOWN
        await publish(pg_other_db, vault, article_id)
        assert await eventually(lambda: shows(feed, article_id, 1))
        async with pg_other_db.read() as conn:
            row = (await conn.execute(sa.select(articles).where(articles.c.article_id == article_id))).one()

        with statements(pg_db) as sent:
            state = await feed.state(article_id)

    assert state == ArticleState(int(row.changed_position), 1, False)
    assert sent == []


async def _disconnected(feed: ChangeFeed) -> bool:
    return feed.listener_pid is None


async def _reconnected(feed: ChangeFeed, old_pid: int) -> bool:
    return feed.listener_pid is not None and feed.listener_pid != old_pid
