"""The moderation queue pages by keyset: equal timestamps neither skip nor repeat, and a deep page seeks its index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from service import queue
from service.db import Database
from service.tables import moderation_queue

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _row(article_id: str, submitted_at: datetime, status: str = "pending") -> dict[str, Any]:
    comment_id = uuid.uuid4()
    return {
        "comment_id": comment_id,
        "article_id": article_id,
        "parent_id": None,
        "status": status,
        "visible": False,
        "version": 1,
        "subject_id": f"c-{comment_id}",
        "author_name": "Trần Thị Bình",
        "phone": None,
        "title": "Ý kiến",
        "body": "Nội dung bình luận.",
        "client_hash": None,
        "flags": [],
        "report_count": 0,
        "report_reasons": [],
        "reason_code": None,
        "submitted_at": submitted_at,
        "updated_at": submitted_at,
        "erased": False,
    }


async def _fill(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.write() as conn:
        await conn.execute(sa.insert(moderation_queue), rows)


async def _walk(db: Database, wanted: queue.QueueFilter) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        items, cursor = await queue.listing(db, queue.QueueFilter(**{**_fields(wanted), "cursor": cursor}), START)
        seen.extend(item["id"] for item in items)
        if cursor is None:
            return seen
    raise AssertionError("the walk never ended")


def _fields(wanted: queue.QueueFilter) -> dict[str, Any]:
    return {name: getattr(wanted, name) for name in wanted.__dataclass_fields__}


async def test_pages_with_equal_timestamps_neither_skip_nor_repeat(db: Database) -> None:
    article_id = f"paging-{uuid.uuid4().hex[:8]}"
    # Seven comments share each moment: a page boundary falls inside a run of equal timestamps again and again.
    rows = [_row(article_id, START + timedelta(seconds=index // 7)) for index in range(45)]
    rows += [_row(article_id, START, status="approved") for _ in range(5)]
    await _fill(db, rows)
    expected = sorted(
        (row for row in rows if row["status"] == "pending"), key=lambda row: (row["submitted_at"], row["comment_id"])
    )

    seen = await _walk(db, queue.QueueFilter(article_id=article_id, limit=4))

    assert seen == [str(row["comment_id"]) for row in expected]


async def test_a_page_after_the_cursor_is_unchanged_when_earlier_items_are_decided(db: Database) -> None:
    article_id = f"paging-{uuid.uuid4().hex[:8]}"
    rows = [_row(article_id, START + timedelta(seconds=index)) for index in range(6)]
    await _fill(db, rows)
    first, cursor = await queue.listing(db, queue.QueueFilter(article_id=article_id, limit=3), START)
    async with db.write() as conn:
        await conn.execute(
            sa.update(moderation_queue)
            .where(moderation_queue.c.comment_id.in_([row["comment_id"] for row in rows[:3]]))
            .values(status="approved")
        )

    second, _ = await queue.listing(db, queue.QueueFilter(article_id=article_id, limit=3, cursor=cursor), START)

    assert [item["id"] for item in first + second] == [str(row["comment_id"]) for row in rows]


async def _plan(db: Database, statement: sa.Select[Any]) -> str:
    """The database's own plan for `statement`, with the very parameters the driver received."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((sql, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with db.read() as conn:
            await conn.execute(statement)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    sql, parameters = next((sql, parameters) for sql, parameters in sent if "moderation_queue" in sql)
    async with db.read() as conn:
        if db.is_sqlite:
            result = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
            return "\n".join(str(row[-1]) for row in result)
        await conn.exec_driver_sql("ANALYZE moderation_queue")
        result = await conn.exec_driver_sql(f"EXPLAIN {sql}", parameters)
        return "\n".join(str(row[0]) for row in result)


async def test_a_deep_page_seeks_the_index_instead_of_sorting_or_scanning_from_the_start(db: Database) -> None:
    article_id = f"deep-{uuid.uuid4().hex[:8]}"
    await _fill(db, [_row(article_id, START + timedelta(seconds=index)) for index in range(3000)])
    cursor = queue.encode_cursor(START + timedelta(seconds=2500), uuid.uuid4())

    for wanted in (
        queue.QueueFilter(cursor=cursor, limit=50),
        queue.QueueFilter(article_id=article_id, cursor=cursor, limit=50),
    ):
        plan = await _plan(db, queue.listing_statement(wanted))

        if db.is_sqlite:
            # A seek on the row value, in index order: no temporary B-tree for ORDER BY.
            assert "(submitted_at,comment_id)>(?,?)" in plan.replace(" ", ""), plan
            assert "TEMP B-TREE" not in plan, plan
        else:
            assert "Sort" not in plan, plan
            assert "Seq Scan on moderation_queue" not in plan, plan
            # The row value is an index condition (a seek), not a filter applied while walking from the start.
            assert "Index Cond:" in plan, plan
            assert "ROW(submitted_at, comment_id) > ROW(" in plan, plan
