"""CAPTCHA challenges in the database: single use, expiry, idempotent retries and concurrent verification."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service import captcha, tables

SECRET = b"k" * 32
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)


# The backend lives in these two fixtures only, so that a shared fixture can replace them (e.g. PostgreSQL).
@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine("sqlite+aiosqlite:///" + str(tmp_path / "c.db"))
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        yield conn


async def issue(conn: AsyncConnection, *, now: datetime = NOW, test_answer: str | None = None) -> str:
    challenge = await captcha.issue(conn, secret=SECRET, now=now, ttl=TTL, test_answer=test_answer)
    await conn.commit()
    return challenge.id


async def verify(
    conn: AsyncConnection,
    challenge_id: str,
    attempt: str,
    *,
    now: datetime = NOW + timedelta(seconds=10),
    consumer: str | None = None,
) -> captcha.VerifyOutcome:
    outcome = await captcha.verify(
        conn, secret=SECRET, challenge_id=challenge_id, attempt=attempt, now=now, consumer=consumer
    )
    await conn.commit()
    return outcome


def answer(challenge_id: str) -> str:
    return captcha.answer_for(SECRET, challenge_id, None)


async def test_the_right_answer_is_accepted(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn)
    assert await verify(conn, challenge_id, answer(challenge_id)) is captcha.VerifyOutcome.OK


async def test_the_answer_is_not_stored(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn)
    row = (await conn.execute(sa.select(tables.captchas))).one()
    assert answer(challenge_id) not in "".join(str(value) for value in row)


async def test_a_challenge_is_accepted_only_once(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn)
    assert await verify(conn, challenge_id, answer(challenge_id)) is captcha.VerifyOutcome.OK
    assert await verify(conn, challenge_id, answer(challenge_id)) is captcha.VerifyOutcome.WRONG


async def test_a_wrong_answer_consumes_the_challenge(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn, test_answer="AB3DE")
    assert await verify(conn, challenge_id, "AB3DF") is captcha.VerifyOutcome.WRONG
    assert await verify(conn, challenge_id, "AB3DE") is captcha.VerifyOutcome.WRONG


async def test_an_expired_challenge_is_wrong(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn)
    outcome = await verify(conn, challenge_id, answer(challenge_id), now=NOW + TTL)
    assert outcome is captcha.VerifyOutcome.WRONG


@pytest.mark.parametrize("challenge_id", ["unknown-id", "x" * 65, "bad\x00id", ""])
async def test_an_unknown_id_is_wrong(conn: AsyncConnection, challenge_id: str) -> None:
    assert await verify(conn, challenge_id, "AB3DE") is captcha.VerifyOutcome.WRONG


async def test_the_answer_is_case_insensitive_and_trimmed(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn, test_answer="AB3DE")
    assert await verify(conn, challenge_id, "  ab3De\n") is captcha.VerifyOutcome.OK


async def test_an_overlong_attempt_is_wrong_and_consumes(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn, test_answer="AB3DE")
    assert await verify(conn, challenge_id, "A" * 33) is captcha.VerifyOutcome.WRONG
    assert await verify(conn, challenge_id, "AB3DE") is captcha.VerifyOutcome.WRONG


async def test_a_retry_by_the_same_consumer_is_a_duplicate(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn, test_answer="AB3DE")
    assert await verify(conn, challenge_id, "AB3DE", consumer="key-1") is captcha.VerifyOutcome.OK
    assert await verify(conn, challenge_id, "AB3DE", consumer="key-1") is captcha.VerifyOutcome.DUPLICATE
    assert await verify(conn, challenge_id, "AB3DE", consumer="key-2") is captcha.VerifyOutcome.WRONG
    assert await verify(conn, challenge_id, "AB3DE") is captcha.VerifyOutcome.WRONG
    assert await verify(conn, challenge_id, "XXXXX", consumer="key-1") is captcha.VerifyOutcome.WRONG


async def test_a_retry_after_a_wrong_answer_is_not_a_duplicate(conn: AsyncConnection) -> None:
    challenge_id = await issue(conn, test_answer="AB3DE")
    assert await verify(conn, challenge_id, "XXXXX", consumer="key-1") is captcha.VerifyOutcome.WRONG
    assert await verify(conn, challenge_id, "AB3DE", consumer="key-1") is captcha.VerifyOutcome.WRONG


async def test_of_two_concurrent_verifications_exactly_one_succeeds(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        challenge = await captcha.issue(conn, secret=SECRET, now=NOW, ttl=TTL, test_answer=None)

    async def attempt(consumer: str) -> captcha.VerifyOutcome:
        async with engine.begin() as conn:
            return await captcha.verify(
                conn,
                secret=SECRET,
                challenge_id=challenge.id,
                attempt=answer(challenge.id),
                now=NOW + timedelta(seconds=10),
                consumer=consumer,
            )

    outcomes = await asyncio.gather(attempt("a"), attempt("b"))
    assert sorted(o.value for o in outcomes) == ["ok", "wrong"]


async def test_a_verification_waits_for_an_uncommitted_one_and_then_finds_the_challenge_used(
    engine: AsyncEngine,
) -> None:
    # gather() above may happen to run the two one after the other; here the second surely starts while the
    # first still holds its transaction open.
    async with engine.begin() as conn:
        challenge = await captcha.issue(conn, secret=SECRET, now=NOW, ttl=TTL, test_answer="AB3DE")
    first_consumed = asyncio.Event()

    async def first() -> captcha.VerifyOutcome:
        async with engine.begin() as conn:
            outcome = await captcha.verify(
                conn, secret=SECRET, challenge_id=challenge.id, attempt="AB3DE", now=NOW, consumer="a"
            )
            first_consumed.set()
            await asyncio.sleep(0.2)
            return outcome

    async def second() -> captcha.VerifyOutcome:
        await first_consumed.wait()
        async with engine.begin() as conn:
            return await captcha.verify(
                conn, secret=SECRET, challenge_id=challenge.id, attempt="AB3DE", now=NOW, consumer="b"
            )

    assert list(await asyncio.gather(first(), second())) == [captcha.VerifyOutcome.OK, captcha.VerifyOutcome.WRONG]


async def test_get_live_returns_only_unconsumed_unexpired_challenges(conn: AsyncConnection) -> None:
    live = await issue(conn)
    used = await issue(conn)
    await verify(conn, used, "XXXXX")
    later = NOW + timedelta(seconds=10)

    challenge = await captcha.get_live(conn, live, later)
    assert challenge == captcha.Challenge(id=live, created_at=NOW, expires_at=NOW + TTL)
    assert await captcha.get_live(conn, used, later) is None
    assert await captcha.get_live(conn, live, NOW + TTL) is None
    assert await captcha.get_live(conn, "unknown", later) is None


async def test_purge_removes_only_challenges_expired_beyond_the_grace(conn: AsyncConnection) -> None:
    old = await issue(conn, now=NOW - timedelta(hours=2))
    recently_expired = await issue(conn, now=NOW - timedelta(minutes=30))
    fresh = await issue(conn)

    assert await captcha.purge_expired(conn, NOW) == 1
    await conn.commit()

    remaining = set((await conn.execute(sa.select(tables.captchas.c.id))).scalars())
    assert remaining == {recently_expired, fresh}
    assert old not in remaining


async def test_times_in_another_zone_are_stored_as_utc(conn: AsyncConnection) -> None:
    hanoi = timezone(timedelta(hours=7))
    challenge_id = await issue(conn, now=NOW.astimezone(hanoi))
    challenge = await captcha.get_live(conn, challenge_id, NOW + timedelta(seconds=1))
    assert challenge is not None
    assert challenge.created_at == NOW
    assert challenge.created_at.tzinfo is UTC
