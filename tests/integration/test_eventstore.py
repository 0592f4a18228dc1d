"""The event log contract, run on SQLite and PostgreSQL: concurrency, ordering, the chain and append-only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from service import eventstore
from service.crypto import Vault
from service.db import Database, utcnow
from service.events import CommentApproved, CommentReported, Event
from service.eventstore import ConcurrencyError
from service.tables import events


def _reports(count: int, comment_id: uuid.UUID | None = None) -> list[Event]:
    target = comment_id or uuid.uuid4()
    return [CommentReported(comment_id=target, reason="spam") for _ in range(count)]


async def _append(db: Database, vault: Vault, stream: str, batch: Sequence[Event], expected: int) -> None:
    async with db.write() as conn:
        await eventstore.append(
            conn, vault.session(), stream, batch, expected_version=expected, actor="system", now=utcnow()
        )


async def test_concurrent_appends_at_one_version_let_exactly_one_win(db: Database, vault: Vault) -> None:
    stream = f"comment-{uuid.uuid4()}"
    await _append(db, vault, stream, _reports(1), expected=0)

    results = await asyncio.gather(
        *(_append(db, vault, stream, _reports(2), expected=1) for _ in range(8)), return_exceptions=True
    )

    winners = [result for result in results if result is None]
    losers = [result for result in results if isinstance(result, ConcurrencyError)]
    assert (len(winners), len(losers)) == (1, 7)
    async with db.read() as conn:
        assert await eventstore.stream_version(conn, stream) == 3


async def test_concurrent_appends_to_many_streams_keep_positions_gapless_and_batches_contiguous(
    fresh_db: Database, vault: Vault
) -> None:
    streams = [f"comment-{uuid.uuid4()}" for _ in range(12)]

    await asyncio.gather(*(_append(fresh_db, vault, stream, _reports(3), expected=0) for stream in streams))

    async with fresh_db.read() as conn:
        rows = (await conn.execute(sa.select(events.c.position, events.c.stream_id).order_by(events.c.position))).all()
    assert [row.position for row in rows] == list(range(1, 37))
    for start in range(0, 36, 3):
        assert len({row.stream_id for row in rows[start : start + 3]}) == 1


async def test_a_reader_polling_after_a_position_never_skips_a_late_commit(fresh_db: Database, vault: Vault) -> None:
    seen: list[int] = []
    first_holds = asyncio.Event()
    release_first = asyncio.Event()

    async def slow_writer() -> None:
        async with fresh_db.write() as conn:
            await eventstore.append(
                conn,
                vault.session(),
                f"comment-{uuid.uuid4()}",
                _reports(1),
                expected_version=0,
                actor="system",
                now=utcnow(),
            )
            first_holds.set()
            await release_first.wait()

    async def fast_writer() -> None:
        await first_holds.wait()
        await _append(fresh_db, vault, f"comment-{uuid.uuid4()}", _reports(1), expected=0)

    async def reader() -> None:
        after = 0
        for _ in range(400):
            async with fresh_db.read() as conn:
                page = await eventstore.read_all(conn, vault.session(), after=after)
            for item in page:
                seen.append(item.position)
                after = item.position
            if len(seen) >= 2:
                return
            await asyncio.sleep(0.01)

    slow = asyncio.create_task(slow_writer())
    fast = asyncio.create_task(fast_writer())
    read = asyncio.create_task(reader())
    await asyncio.wait_for(first_holds.wait(), timeout=30)
    await asyncio.sleep(0.3)  # the fast writer is now waiting for the log head; the reader sees nothing yet
    assert seen == []
    release_first.set()
    await asyncio.wait_for(asyncio.gather(slow, fast, read), timeout=30)
    assert seen == [1, 2]


async def test_every_appended_event_reads_back_with_its_personal_fields(db: Database, vault: Vault) -> None:
    comment_id = uuid.uuid4()
    stream = f"comment-{comment_id}"
    approved = CommentApproved(comment_id=comment_id, moderator="lan", note="Đã xem")
    await _append(db, vault, stream, [approved], expected=0)

    async with db.read() as conn:
        [item] = await eventstore.read_stream(conn, vault.session(), stream)

    assert item.event == approved
    assert (item.stream_version, item.type, item.actor) == (1, "CommentApproved", "system")


async def test_the_log_refuses_updates_and_deletes(db: Database, vault: Vault) -> None:
    await _append(db, vault, f"comment-{uuid.uuid4()}", _reports(1), expected=0)

    for statement in (sa.update(events).values(actor="mallory"), sa.delete(events)):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.write() as conn:
                await conn.execute(statement)
