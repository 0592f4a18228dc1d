"""Set-based statements store exactly what row-by-row statements store, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service import bulk
from service.db import Database
from service.tables import shadow_copies


@pytest.fixture
async def queues(db: Database) -> AsyncIterator[tuple[sa.Table, sa.Table]]:
    """Two empty copies of the moderation queue: one written row by row, one in bulk."""
    made = (shadow_copies(f"_bulk_{uuid.uuid4().hex[:8]}")[0], shadow_copies(f"_bulk_{uuid.uuid4().hex[:8]}")[0])

    def create(sync: Connection) -> None:
        for table in made:
            table.create(sync)

    def drop(sync: Connection) -> None:
        for table in made:
            table.drop(sync)

    async with db.write() as conn:
        await conn.run_sync(create)
    yield made
    async with db.write() as conn:
        await conn.run_sync(drop)


def rows(count: int) -> list[dict[str, Any]]:
    start = datetime(2025, 5, 1, 7, 30, 0, 123456, tzinfo=UTC)
    return [
        {
            "comment_id": uuid.uuid4(),
            "article_id": f"a-{index % 3}",
            "parent_id": uuid.uuid4() if index % 2 else None,
            "status": "pending",
            "visible": index % 2 == 0,
            "version": 1,
            "subject_id": f"c-{index}",
            "author_name": "Vũ Thị Lan",
            "phone": "+84912345678" if index % 3 == 0 else None,
            "title": "Tiêu đề",
            "body": "Nội dung 😊 'quoted' \"double\"",
            "client_hash": None,
            "flags": [{"code": "link", "field": "body", "detail": "x.vn"}] if index % 2 else [],
            "report_count": 0,
            "report_reasons": ["spam"] if index % 4 == 0 else [],
            "reason_code": None,
            "submitted_at": start + timedelta(seconds=index),
            "updated_at": start + timedelta(seconds=index, microseconds=7),
            "erased": False,
        }
        for index in range(count)
    ]


async def stored(db: Database, table: sa.Table) -> list[tuple[Any, ...]]:
    # The JSON columns as the database holds their text: the queue filters flags with LIKE over it.
    columns = [sa.cast(column, sa.Text) if isinstance(column.type, sa.JSON) else column for column in table.columns]
    async with db.read() as conn:
        return [tuple(row) for row in await conn.execute(sa.select(*columns).order_by(table.c.comment_id))]


async def test_bulk_inserts_store_exactly_what_an_insert_per_row_stores(
    db: Database, queues: tuple[sa.Table, sa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one, in_bulk = queues
    written = rows(12)
    # Every bulk path, whatever the count: compiled executemany, and COPY on PostgreSQL.
    monkeypatch.setattr(bulk, "MANY_ROWS", 1)
    monkeypatch.setattr(bulk, "COPY_ROWS", 1)

    async with db.write() as conn:
        for row in written:
            await conn.execute(sa.insert(one_by_one).values(**row))
        await bulk.insert(conn, in_bulk, written)

    assert await stored(db, in_bulk) == await stored(db, one_by_one)
    assert len(await stored(db, in_bulk)) == 12


async def test_bulk_updates_store_exactly_what_an_update_per_row_stores(
    db: Database, queues: tuple[sa.Table, sa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one, in_bulk = queues
    written = rows(6)
    monkeypatch.setattr(bulk, "MANY_ROWS", 1)
    later = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    changes = [
        {"key": row["comment_id"], "status": "approved", "report_reasons": ["spam", "other"], "updated_at": later}
        for row in written[::2]
    ]

    async with db.write() as conn:
        for table in queues:
            await conn.execute(sa.insert(table), written)
        for change in changes:
            await conn.execute(
                sa.update(one_by_one)
                .where(one_by_one.c.comment_id == change["key"])
                .values(status=change["status"], report_reasons=change["report_reasons"], updated_at=later)
            )
        await bulk.executemany(conn, sa.update(in_bulk).where(in_bulk.c.comment_id == sa.bindparam("key")), changes)

    assert await stored(db, in_bulk) == await stored(db, one_by_one)


async def test_one_of_matches_exactly_the_listed_values(db: Database, queues: tuple[sa.Table, sa.Table]) -> None:
    table, _other = queues
    written = rows(8)
    async with db.write() as conn:
        await conn.execute(sa.insert(table), written)
    wanted = {written[1]["comment_id"], written[5]["comment_id"], uuid.uuid4()}

    async with db.read() as conn:
        by_id = await conn.scalars(
            sa.select(table.c.comment_id).where(bulk.one_of(conn.dialect.name, table.c.comment_id, wanted))
        )
        by_subject = await conn.scalars(
            sa.select(table.c.subject_id).where(bulk.one_of(conn.dialect.name, table.c.subject_id, ["c-2", "c-9"]))
        )
        none = await conn.scalars(
            sa.select(table.c.comment_id).where(bulk.one_of(conn.dialect.name, table.c.comment_id, []))
        )

        assert set(by_id) == {written[1]["comment_id"], written[5]["comment_id"]}
        assert list(by_subject) == ["c-2"]
        assert list(none) == []
