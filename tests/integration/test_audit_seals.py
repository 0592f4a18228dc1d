"""Seals: signed heads that catch what the chain alone cannot (a re-chained tail, a clean truncation) and forgeries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, seals
from service.application import handle
from service.commands import ApproveComment
from service.crypto import Vault
from service.db import Database, utcnow
from service.seals import Seal, SealKey
from service.tables import events
from tests.conftest import TEST_SECRET
from tests.integration.tampering import (
    Tamper,
    behind_the_services_back,
    delete_one,
    flip_a_byte_of_ciphertext,
    rewrite_from_4_and_rechain,
    submit,
    swap_two,
    truncate_tail,
)

KEY = SealKey.from_secret(TEST_SECRET)


async def five_events_sealed_at_3_and_5(db: Database, vault: Vault) -> list[Seal]:
    """Submit, approve, submit (sealed at 3), approve, submit (sealed at 5); returns the seals as exported."""
    first = await submit(db, vault, 0, article_id="seals")
    await handle(db, vault, ApproveComment(comment_id=first, moderator="lan"), now=utcnow())
    second = await submit(db, vault, 1, article_id="seals")
    assert await seals.seal_head(db, KEY, utcnow()) is not None
    await handle(db, vault, ApproveComment(comment_id=second, moderator="lan"), now=utcnow())
    await submit(db, vault, 2, article_id="seals")
    assert await seals.seal_head(db, KEY, utcnow()) is not None
    async with db.read() as conn:
        stored = await seals.stored(conn)
    assert [seal.position for seal in stored] == [3, 5]
    return [seals.parse_line(seals.export_line(seal, KEY.public_bytes)) for seal in stored]


async def _truncate_tail_and_move_the_head_back(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("DELETE FROM events WHERE position = 5"))
    await conn.execute(sa.text("UPDATE log_head SET position = 4, hash = (SELECT hash FROM events WHERE position = 4)"))


async def _forge_a_seal_at_4(conn: AsyncConnection) -> None:
    head_hash = await conn.scalar(sa.text("SELECT hash FROM events WHERE position = 4"))
    other = SealKey.from_secret("another-secret-that-is-long-enough-for-the-rules")
    now = utcnow()
    await conn.execute(
        sa.text(
            "INSERT INTO seals (position, hash, sealed_at, key_id, signature) VALUES (4, :hash, :at, :key_id, :sig)"
        ).bindparams(sa.bindparam("at", type_=sa.DateTime(timezone=True)), sa.bindparam("sig", type_=sa.LargeBinary)),
        {"hash": head_hash, "at": now, "key_id": KEY.key_id, "sig": other.sign(4, head_hash, now)},
    )


CASES = [
    pytest.param(flip_a_byte_of_ciphertext, 5, id="flipped-byte"),
    pytest.param(delete_one, 2, id="deleted-row"),
    pytest.param(swap_two, 2, id="swapped-rows"),
    pytest.param(truncate_tail, 5, id="truncated-tail"),
    pytest.param(_truncate_tail_and_move_the_head_back, 5, id="truncated-tail-and-head"),
    pytest.param(rewrite_from_4_and_rechain, 4, id="forged-re-chained-tail"),
    pytest.param(_forge_a_seal_at_4, 4, id="forged-seal"),
]


async def test_an_untouched_sealed_log_verifies_with_every_seal_checked(fresh_db: Database, vault: Vault) -> None:
    exported = await five_events_sealed_at_3_and_5(fresh_db, vault)

    async with fresh_db.read() as conn:
        report = await seals.verify(conn, KEY, exported)

    # The stored seals and their exported copies are the same two seals, each checked once.
    assert (report["ok"], report["checked"], report["seals_checked"], report["first_bad_position"]) == (
        True,
        5,
        2,
        None,
    )


@pytest.mark.parametrize(("tamper", "first_bad"), CASES)
async def test_verify_with_exported_seals_names_the_first_bad_position(
    fresh_db: Database, vault: Vault, tamper: Tamper, first_bad: int
) -> None:
    exported = await five_events_sealed_at_3_and_5(fresh_db, vault)

    await behind_the_services_back(fresh_db, tamper)

    async with fresh_db.read() as conn:
        report = await seals.verify(conn, KEY, exported)
    assert (report["ok"], report["first_bad_position"]) == (False, first_bad), report["problem"]


@pytest.mark.parametrize(
    "tamper", [rewrite_from_4_and_rechain, _truncate_tail_and_move_the_head_back], ids=["re-chained", "truncated"]
)
async def test_a_rewrite_that_keeps_the_chain_whole_needs_the_exported_seals(
    fresh_db: Database, vault: Vault, tamper: Tamper
) -> None:
    exported = await five_events_sealed_at_3_and_5(fresh_db, vault)

    # The superuser also deletes the stored seals: only the auditor's copy is left to tell.
    async def and_remove_the_seals(conn: AsyncConnection) -> None:
        await tamper(conn)
        await conn.execute(sa.text("DELETE FROM seals"))

    await behind_the_services_back(fresh_db, and_remove_the_seals)

    async with fresh_db.read() as conn:
        chain = await eventstore.verify(conn)
        alone = await seals.verify(conn, KEY)
        with_copy = await seals.verify(conn, KEY, exported)
    assert (chain.ok, alone["ok"], with_copy["ok"]) == (True, True, False)


async def test_an_exported_seal_edited_by_hand_is_detected_as_forged(fresh_db: Database, vault: Vault) -> None:
    exported = await five_events_sealed_at_3_and_5(fresh_db, vault)
    async with fresh_db.read() as conn:
        hash_at_2 = str(await conn.scalar(sa.select(events.c.hash).where(events.c.position == 2)))
    edited = Seal(
        position=2,
        hash=hash_at_2,
        sealed_at=exported[0].sealed_at,
        key_id=exported[0].key_id,
        signature=exported[0].signature,
        public_key=exported[0].public_key,
    )

    async with fresh_db.read() as conn:
        report = await seals.verify(conn, KEY, [*exported, edited])

    assert (report["ok"], report["first_bad_position"]) == (False, 2)
    assert "forged" in report["problem"]


async def test_the_seals_table_refuses_updates_and_deletes(fresh_db: Database, vault: Vault) -> None:
    await five_events_sealed_at_3_and_5(fresh_db, vault)

    for statement in ("UPDATE seals SET hash = 'x'", "DELETE FROM seals"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with fresh_db.write() as conn:
                await conn.execute(sa.text(statement))


async def test_sealing_twice_at_one_head_stores_one_seal(fresh_db: Database, vault: Vault) -> None:
    assert await seals.seal_head(fresh_db, KEY, utcnow()) is None, "an empty log has nothing to seal"
    await submit(fresh_db, vault, 0, article_id="seals")

    first = await seals.seal_head(fresh_db, KEY, utcnow())
    second = await seals.seal_head(fresh_db, KEY, utcnow())

    assert (first is not None, second) == (True, None)
    assert first is not None
    assert first.signed_by(KEY.public_bytes)


async def test_a_seal_is_due_after_n_events_or_once_an_event_waited_m_minutes(fresh_db: Database, vault: Vault) -> None:
    start = utcnow()
    for index in range(2):
        await submit(fresh_db, vault, index, article_id="seals")

    async with fresh_db.read() as conn:
        by_count = await seals.is_due(conn, start, every_events=2, every_minutes=0)
        not_by_count = await seals.is_due(conn, start, every_events=3, every_minutes=0)
        not_yet = await seals.is_due(conn, start, every_events=0, every_minutes=10)
        waited = await seals.is_due(conn, start + timedelta(minutes=11), every_events=0, every_minutes=10)
        both_off = await seals.is_due(conn, start + timedelta(days=1), every_events=0, every_minutes=0)

    assert (by_count, not_by_count, not_yet, waited, both_off) == (True, False, False, True, False)
    sealed = await seals.seal_if_due(fresh_db, KEY, start, every_events=2, every_minutes=0)
    assert sealed is not None
    assert sealed.position == 2
    assert await seals.seal_if_due(fresh_db, KEY, start, every_events=1, every_minutes=1) is None


async def test_the_background_task_seals_when_due_and_stops_when_cancelled(fresh_db: Database, vault: Vault) -> None:
    await submit(fresh_db, vault, 0, article_id="seals")
    task = asyncio.create_task(seals.run_forever(fresh_db, KEY, utcnow, every_events=1, every_minutes=0, interval=0.01))

    async def sealed() -> None:
        while True:
            async with fresh_db.read() as conn:
                if await seals.latest(conn) is not None:
                    return
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(sealed(), timeout=30)
    finally:
        task.cancel()
    # Bounded: a task that swallowed its cancellation would otherwise hang the run instead of failing it.
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


async def test_the_background_task_ends_at_once_when_both_triggers_are_off(fresh_db: Database) -> None:
    # Were the triggers not honoured, the task would sleep an hour and loop for ever: fail within seconds instead.
    await asyncio.wait_for(
        seals.run_forever(fresh_db, KEY, utcnow, every_events=0, every_minutes=0, interval=3600), timeout=5
    )
