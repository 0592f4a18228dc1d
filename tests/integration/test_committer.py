"""Group commit, on SQLite and PostgreSQL: concurrent commands share transactions and each gets its own answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.application import Outcome, handle, transact
from service.commands import ApproveComment, Command, HideComment, ReportComment, SubmitComment
from service.committer import Committer, running
from service.crypto import Vault
from service.db import Database, utcnow
from service.eventstore import ConcurrencyError
from service.moderation import CommentNotFound
from service.tables import events, rate_limits

TIMEOUT = 30


def _submit(article_id: str) -> SubmitComment:
    comment_id = uuid.uuid4()
    return SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        subject_id=f"c-{comment_id}",
        author_name="Trần Thị Bình",
        title="Ý kiến",
        body="Cảm ơn tòa soạn",
    )


@pytest.fixture
async def committer(fresh_db: Database, vault: Vault) -> AsyncIterator[Committer]:
    async with running(fresh_db, vault) as started:
        yield started


async def _positions(db: Database) -> list[int]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(events.c.position).order_by(events.c.position))).scalars())


async def test_concurrent_submissions_land_together_with_gapless_positions(
    fresh_db: Database, vault: Vault, committer: Committer
) -> None:
    commands = [_submit("article-group") for _ in range(20)]

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(handle(fresh_db, vault, command, now=utcnow()) for command in commands)), TIMEOUT
    )

    assert sorted(outcome.recorded[0].position for outcome in outcomes) == list(range(1, 21))
    assert await _positions(fresh_db) == list(range(1, 21))
    assert committer.batches < len(commands)
    async with fresh_db.read() as conn:
        assert (await eventstore.verify(conn)).ok


async def test_commands_on_one_stream_apply_in_the_order_they_arrived(
    fresh_db: Database, vault: Vault, committer: Committer
) -> None:
    submitted = _submit("article-order")
    comment_id = submitted.comment_id
    commands: list[Command] = [
        submitted,
        ApproveComment(comment_id=comment_id, moderator="lan", expected_version=1),
        ReportComment(comment_id=comment_id, reason="spam", expected_version=2),
        HideComment(comment_id=comment_id, moderator="lan", expected_version=3),
    ]

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(handle(fresh_db, vault, command, now=utcnow()) for command in commands)), TIMEOUT
    )

    assert [outcome.version for outcome in outcomes] == [1, 2, 3, 4]
    assert committer.batches == 1


async def test_a_refused_command_fails_only_its_own_caller(
    fresh_db: Database, vault: Vault, committer: Committer
) -> None:
    good = [_submit("article-refusal") for _ in range(5)]
    stale = ApproveComment(comment_id=good[0].comment_id, moderator="lan", expected_version=7)
    missing = ApproveComment(comment_id=uuid.uuid4(), moderator="lan")
    commands: list[Command] = [*good, stale, missing]

    results = await asyncio.wait_for(
        asyncio.gather(
            *(handle(fresh_db, vault, command, now=utcnow()) for command in commands),
            return_exceptions=True,
        ),
        TIMEOUT,
    )

    assert all(isinstance(result, Outcome) for result in results[:5])
    assert isinstance(results[5], ConcurrencyError)
    assert isinstance(results[6], CommentNotFound)
    assert await _positions(fresh_db) == [1, 2, 3, 4, 5]


async def test_a_caller_cancelled_while_waiting_does_not_hold_up_the_next(
    fresh_db: Database, vault: Vault, committer: Committer
) -> None:
    abandoned = _submit("article-cancel")
    waiting = asyncio.create_task(handle(fresh_db, vault, abandoned, now=utcnow()))
    await asyncio.sleep(0)  # queued, not yet taken
    waiting.cancel()

    after = await asyncio.wait_for(handle(fresh_db, vault, _submit("article-cancel"), now=utcnow()), TIMEOUT)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, TIMEOUT)
    assert after.version == 1
    async with fresh_db.read() as conn:
        assert await eventstore.stream_version(conn, abandoned.stream) == 0


async def test_a_caller_cancelled_during_its_batch_leaves_the_committer_running(
    fresh_db: Database, vault: Vault, committer: Committer
) -> None:
    inside, release = asyncio.Event(), asyncio.Event()

    async def held(_conn: AsyncConnection) -> None:
        inside.set()
        await release.wait()

    slow = asyncio.create_task(handle(fresh_db, vault, _submit("article-inflight"), now=utcnow(), guard=held))
    await asyncio.wait_for(inside.wait(), TIMEOUT)
    slow.cancel()
    release.set()

    after = await asyncio.wait_for(handle(fresh_db, vault, _submit("article-inflight"), now=utcnow()), TIMEOUT)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(slow, TIMEOUT)
    assert after.version == 1


async def test_stopping_answers_the_queued_commands_and_handle_goes_direct_again(
    fresh_db: Database, vault: Vault
) -> None:
    committer = Committer(fresh_db, vault)
    committer.start()
    queued = [asyncio.create_task(handle(fresh_db, vault, _submit("article-stop"), now=utcnow())) for _ in range(3)]
    await asyncio.sleep(0)

    await asyncio.wait_for(committer.stop(), TIMEOUT)
    outcomes = await asyncio.wait_for(asyncio.gather(*queued), TIMEOUT)
    direct = await asyncio.wait_for(handle(fresh_db, vault, _submit("article-stop"), now=utcnow()), TIMEOUT)

    assert [outcome.version for outcome in outcomes] == [1, 1, 1]
    assert direct.recorded[0].position == 4
    assert committer.batches == 1


async def test_operational_work_shares_the_batch_and_keeps_nothing_when_it_raises(
    fresh_db: Database, vault: Vault, committer: Committer
) -> None:
    async def counted(conn: AsyncConnection) -> int:
        await conn.execute(sa.insert(rate_limits).values(bucket="kept", window_start=0, count=1))
        return 7

    async def broken(conn: AsyncConnection) -> int:
        await conn.execute(sa.insert(rate_limits).values(bucket="dropped", window_start=0, count=1))
        raise ValueError("after writing")

    results = await asyncio.wait_for(
        asyncio.gather(
            transact(fresh_db, counted),
            transact(fresh_db, broken),
            handle(fresh_db, vault, _submit("article-work"), now=utcnow()),
            return_exceptions=True,
        ),
        TIMEOUT,
    )

    assert results[0] == 7
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], Outcome)
    async with fresh_db.read() as conn:
        buckets = set((await conn.execute(sa.select(rate_limits.c.bucket))).scalars())
    assert buckets == {"kept"}
