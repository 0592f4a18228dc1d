"""The database's faces: reads run alone (no BEGIN), snapshots agree across statements, writes tell the feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from service.db import Database, connect
from service.tables import checkpoints

MARK = "test:db-faces"


@pytest.fixture
async def other_db(database_url: str) -> AsyncIterator[Database]:
    database = connect(database_url)
    yield database
    await database.dispose()


async def _set_mark(db: Database, position: int) -> None:
    async with db.write() as conn:
        await conn.execute(sa.delete(checkpoints).where(checkpoints.c.name == MARK))
        await conn.execute(sa.insert(checkpoints).values(name=MARK, position=position))


async def _mark(conn: Any) -> int:
    return int(await conn.scalar(sa.select(checkpoints.c.position).where(checkpoints.c.name == MARK)) or 0)


async def test_a_read_sends_its_statement_alone(db: Database) -> None:
    if db.is_sqlite:
        sent: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            sent.append(statement)

        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        try:
            async with db.read() as conn:
                await conn.execute(sa.text("SELECT 1"))
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", record)
        assert sent == ["SELECT 1"]
    else:
        async with db.read() as conn:
            first = await conn.scalar(sa.text("SELECT pg_current_xact_id()::text"))
            second = await conn.scalar(sa.text("SELECT pg_current_xact_id()::text"))
        assert first != second  # each statement its own transaction: no BEGIN held them in one


async def test_a_snapshot_sees_one_state_while_another_connection_commits(db: Database, other_db: Database) -> None:
    await _set_mark(db, 1)

    async with db.snapshot() as conn:
        before = await _mark(conn)
        await _set_mark(other_db, 2)
        after = await _mark(conn)
    async with db.read() as conn:
        now = await _mark(conn)

    assert (before, after, now) == (1, 1, 2)


async def test_statements_of_a_read_each_see_the_latest_commit(db: Database, other_db: Database) -> None:
    await _set_mark(db, 1)

    async with db.read() as conn:
        before = await _mark(conn)
        await _set_mark(other_db, 2)
        after = await _mark(conn)

    assert (before, after) == (1, 2)


async def test_a_snapshot_on_postgres_refuses_to_write(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no read-only transactions; the reader's code paths never write")
    async with db.snapshot() as conn:
        with pytest.raises(DBAPIError, match="read-only"):
            await conn.execute(sa.insert(checkpoints).values(name="test:never", position=0))


async def _delete_mark_then_fail(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(sa.delete(checkpoints).where(checkpoints.c.name == MARK))
        raise RuntimeError("rolled back")


async def test_every_committed_write_calls_the_written_hooks_and_a_failed_one_does_not(db: Database) -> None:
    calls: list[str] = []
    db.written.append(lambda: calls.append("committed"))
    try:
        await _set_mark(db, 3)
        with pytest.raises(RuntimeError):
            await _delete_mark_then_fail(db)
        async with db.read() as conn:
            kept = await _mark(conn)
    finally:
        db.written.clear()

    assert calls == ["committed"]
    assert kept == 3
