"""Subscribers follow the log on SQLite and PostgreSQL: once each, in order, resumable, locked, cancellable."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, projections
from service.application import handle
from service.commands import SubmitComment
from service.crypto import Vault, comment_subject
from service.db import Database, connect, utcnow
from service.events import CommentSubmitted
from service.eventstore import RecordedEvent
from service.subscribers import Handler, Subscribers

TIMEOUT = 30.0
FAST = {"poll_seconds": 0.01, "retry_seconds": 0.01, "max_retry_seconds": 0.05}

# A table of the tests' own: what a handler writes through the connection it is given.
handled = sa.Table(
    "test_subscriber_handled",
    sa.MetaData(),
    sa.Column("subscriber", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
)


@pytest.fixture
async def log_db(fresh_db: Database) -> Database:
    """A database whose log belongs to the test alone (positions start at 1), with the handlers' table."""
    async with fresh_db.write() as conn:
        await conn.run_sync(handled.metadata.create_all)
    return fresh_db


async def submit(db: Database, vault: Vault, count: int) -> None:
    """Record `count` events through the real write path, one submission each."""
    for _ in range(count):
        comment_id = uuid.uuid4()
        command = SubmitComment(
            comment_id=comment_id,
            article_id="subscribers-1",
            subject_id=comment_subject(comment_id),
            author_name="Trần Văn Bình",
            title="Ý kiến",
            body="Bài viết hay",
        )
        await handle(db, vault, command, now=utcnow())


async def checkpoint(db: Database, name: str) -> int:
    async with db.read() as conn:
        return await projections.checkpoint(conn, f"subscriber:{name}")


async def head(db: Database) -> int:
    async with db.read() as conn:
        position, _hash = await eventstore.head(conn)
    return position


async def handled_positions(db: Database, name: str) -> list[int]:
    async with db.read() as conn:
        rows = await conn.execute(
            sa.select(handled.c.position).where(handled.c.subscriber == name).order_by(handled.c.position)
        )
        return [int(position) for position in rows.scalars()]


def recording(name: str, batches: list[list[int]] | None = None) -> Handler:
    """A handler that writes each position it gets through the transaction's connection (and notes its batches)."""

    async def handler(batch: Sequence[RecordedEvent], conn: AsyncConnection) -> None:
        if batches is not None:
            batches.append([item.position for item in batch])
        await conn.execute(sa.insert(handled), [{"subscriber": name, "position": item.position} for item in batch])

    return handler


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait until the condition holds, within TIMEOUT: a bug fails the test instead of hanging it."""
    async with asyncio.timeout(TIMEOUT):
        for _ in itertools.count():
            if await condition():
                return
            await asyncio.sleep(0.02)


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    done, _pending = await asyncio.wait(tasks, timeout=TIMEOUT)
    assert set(done) == set(tasks)


async def test_a_subscriber_gets_every_event_once_in_order_in_batches_of_its_size(
    log_db: Database, vault: Vault
) -> None:
    await submit(log_db, vault, 7)
    batches: list[list[int]] = []
    types: list[type] = []

    async def handler(batch: Sequence[RecordedEvent], conn: AsyncConnection) -> None:
        batches.append([item.position for item in batch])
        types.extend(type(item.event) for item in batch)

    subscribers = Subscribers()
    subscribers.register("audit-trail", handler, batch_size=3)

    assert await subscribers.catch_up(log_db, vault) == {"audit-trail": 7}
    assert await subscribers.catch_up(log_db, vault) == {"audit-trail": 0}
    assert batches == [[1, 2, 3], [4, 5, 6], [7]]
    assert types == [CommentSubmitted] * 7
    assert await checkpoint(log_db, "audit-trail") == 7


async def test_a_restarted_subscriber_resumes_after_its_checkpoint(log_db: Database, vault: Vault) -> None:
    await submit(log_db, vault, 4)
    before_restart = Subscribers()
    before_restart.register("mailer", recording("mailer"), batch_size=3)
    await before_restart.catch_up(log_db, vault)
    await submit(log_db, vault, 3)

    batches: list[list[int]] = []
    after_restart = Subscribers()
    after_restart.register("mailer", recording("mailer", batches), batch_size=3)

    assert await after_restart.catch_up(log_db, vault) == {"mailer": 3}
    assert batches == [[5, 6, 7]]
    assert await handled_positions(log_db, "mailer") == [1, 2, 3, 4, 5, 6, 7]


async def test_a_handlers_writes_and_the_checkpoint_commit_or_roll_back_together(
    log_db: Database, vault: Vault
) -> None:
    await submit(log_db, vault, 6)
    broken = True
    record = recording("purger")

    async def handler(batch: Sequence[RecordedEvent], conn: AsyncConnection) -> None:
        await record(batch, conn)  # written, then the handler fails: the write must go with the batch
        if broken and any(item.position == 5 for item in batch):
            raise RuntimeError("the CDN did not answer")

    subscribers = Subscribers()
    subscribers.register("purger", handler, batch_size=2)

    with pytest.raises(RuntimeError, match="CDN"):
        await subscribers.catch_up(log_db, vault)
    assert await handled_positions(log_db, "purger") == [1, 2, 3, 4]
    assert await checkpoint(log_db, "purger") == 4
    assert await subscribers.lag(log_db) == {"purger": 2}

    broken = False
    assert await subscribers.catch_up(log_db, vault) == {"purger": 2}
    assert await handled_positions(log_db, "purger") == [1, 2, 3, 4, 5, 6]
    assert await checkpoint(log_db, "purger") == 6


async def test_two_runners_of_one_subscriber_never_deliver_an_event_twice(
    log_db: Database, fresh_database_url: str, vault: Vault
) -> None:
    await submit(log_db, vault, 12)
    delivered: list[int] = []

    async def handler(batch: Sequence[RecordedEvent], conn: AsyncConnection) -> None:
        delivered.extend(item.position for item in batch)
        await asyncio.sleep(0.02)  # hold the batch open, so the other runner tries meanwhile
        await recording("webhooks")(batch, conn)

    other_process = connect(fresh_database_url)
    runners = []
    for db in (log_db, other_process):
        subscribers = Subscribers()
        subscribers.register("webhooks", handler, batch_size=2)
        runners.append(asyncio.create_task(subscribers.run_forever(db, vault, **FAST)))
    try:
        await until(lambda: _reached(log_db, "webhooks", 12))
        await submit(log_db, vault, 4)
        await until(lambda: _reached(log_db, "webhooks", 16))
    finally:
        await stop(*runners)
        await other_process.dispose()

    assert delivered == list(range(1, 17))
    assert await handled_positions(log_db, "webhooks") == list(range(1, 17))


async def _reached(db: Database, name: str, position: int) -> bool:
    return await checkpoint(db, name) >= position


async def test_lag_is_the_head_minus_each_subscribers_checkpoint(log_db: Database, vault: Vault) -> None:
    both = Subscribers()
    both.register("fast", recording("fast"))
    both.register("slow", recording("slow"))
    assert await both.lag(log_db) == {"fast": 0, "slow": 0}

    await submit(log_db, vault, 5)
    only_fast = Subscribers()
    only_fast.register("fast", recording("fast"))
    await only_fast.catch_up(log_db, vault)

    assert await both.lag(log_db) == {"fast": 0, "slow": 5}
    assert await Subscribers().lag(log_db) == {}


async def test_running_subscribers_follow_new_events_and_a_failing_one_holds_back_no_other(
    log_db: Database, vault: Vault, caplog: pytest.LogCaptureFixture
) -> None:
    await submit(log_db, vault, 3)
    failures_left = 2
    record = recording("flaky")

    async def flaky(batch: Sequence[RecordedEvent], conn: AsyncConnection) -> None:
        nonlocal failures_left
        await record(batch, conn)
        if failures_left:
            failures_left -= 1
            raise ConnectionError("the receiver is down")

    subscribers = Subscribers()
    subscribers.register("steady", recording("steady"), batch_size=2)
    subscribers.register("flaky", flaky, batch_size=2)
    caplog.set_level(logging.ERROR, logger="comments.subscribers")
    runner = asyncio.create_task(subscribers.run_forever(log_db, vault, **FAST))
    try:
        await until(lambda: _reached(log_db, "steady", 3))
        await submit(log_db, vault, 3)
        await until(lambda: _caught_up(subscribers, log_db))
    finally:
        await stop(runner)

    assert await head(log_db) == 6
    assert await handled_positions(log_db, "steady") == [1, 2, 3, 4, 5, 6]
    assert await handled_positions(log_db, "flaky") == [1, 2, 3, 4, 5, 6]
    failed = [record for record in caplog.records if record.getMessage().startswith("subscriber failed")]
    assert [getattr(record, "subscriber", None) for record in failed] == ["flaky", "flaky"]


async def _caught_up(subscribers: Subscribers, db: Database) -> bool:
    return not any((await subscribers.lag(db)).values())


async def test_cancelling_a_runner_stops_it_promptly_mid_batch_and_delivers_nothing(
    log_db: Database, vault: Vault
) -> None:
    await submit(log_db, vault, 2)
    started = asyncio.Event()

    async def stuck(batch: Sequence[RecordedEvent], conn: AsyncConnection) -> None:
        await recording("stuck")(batch, conn)
        started.set()
        await asyncio.sleep(3600)

    subscribers = Subscribers()
    subscribers.register("stuck", stuck)
    runner = asyncio.create_task(subscribers.run_forever(log_db, vault, **FAST))
    try:
        await asyncio.wait_for(started.wait(), TIMEOUT)
    finally:
        runner.cancel()
        done, _pending = await asyncio.wait({runner}, timeout=5)

    assert runner in done
    assert runner.cancelled()
    assert await handled_positions(log_db, "stuck") == []
    assert await subscribers.lag(log_db) == {"stuck": 2}


async def test_a_runner_with_no_subscribers_returns_at_once(log_db: Database, vault: Vault) -> None:
    await asyncio.wait_for(Subscribers().run_forever(log_db, vault), 1)


def test_a_name_is_registered_once_and_must_fit_its_checkpoint_row() -> None:
    subscribers = Subscribers()
    subscribers.register("webhooks", recording("webhooks"))

    with pytest.raises(ValueError, match="already registered"):
        subscribers.register("webhooks", recording("webhooks"))
    with pytest.raises(ValueError, match="lowercase"):
        subscribers.register("x" * 65, recording("long"))
    with pytest.raises(ValueError, match="batch_size"):
        subscribers.register("empty", recording("empty"), batch_size=0)
    assert subscribers.names == ["webhooks"]
