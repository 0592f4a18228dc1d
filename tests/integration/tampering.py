"""Changing the log behind the service's back, as a superuser in raw SQL would: for the tests that must catch it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.application import handle
from service.commands import SubmitComment
from service.crypto import Vault
from service.db import Database, utcnow
from service.tables import events

Tamper = Callable[[AsyncConnection], Awaitable[None]]


async def submit(db: Database, vault: Vault, index: int, *, article_id: str) -> uuid.UUID:
    comment_id = uuid.uuid4()
    command = SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        subject_id=f"c-{comment_id}",
        author_name="Đỗ Hùng",
        title=f"Ý kiến {index}",
        body="Nội dung",
    )
    await handle(db, vault, command, now=utcnow())
    return comment_id


async def behind_the_services_back(db: Database, tamper: Tamper) -> None:
    async with db.write() as conn:
        if db.is_sqlite:
            for trigger in ("events_no_update", "events_no_delete", "seals_no_update", "seals_no_delete"):
                await conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
        else:
            # A superuser can switch triggers off for the session: the append-only triggers are no defence.
            await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        await tamper(conn)


async def flip_a_byte_of_ciphertext(conn: AsyncConnection) -> None:
    pii = await conn.scalar(sa.text("SELECT pii FROM events WHERE position = 5"))
    assert pii is not None
    flipped = bytes([pii[0] ^ 1]) + bytes(pii[1:])
    await conn.execute(sa.text("UPDATE events SET pii = :pii WHERE position = 5"), {"pii": flipped})


async def delete_one(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("DELETE FROM events WHERE position = 2"))


async def swap_two(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("UPDATE events SET position = -1 WHERE position = 2"))
    await conn.execute(sa.text("UPDATE events SET position = 2 WHERE position = 3"))
    await conn.execute(sa.text("UPDATE events SET position = 3 WHERE position = -1"))


async def truncate_tail(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("DELETE FROM events WHERE position = 5"))


async def rewrite_from_4_and_rechain(conn: AsyncConnection) -> None:
    """Pin the approval at 4 on someone else, then recompute every later hash and the head: the chain holds."""
    rows = (await conn.execute(sa.select(events).where(events.c.position >= 4).order_by(events.c.position))).all()
    prev_hash = str(await conn.scalar(sa.select(events.c.hash).where(events.c.position == 3)))
    for row in rows:
        forged = {**row._mapping, "prev_hash": prev_hash}
        if forged["position"] == 4:
            forged["actor"] = "moderator:mallory"
        forged["hash"] = prev_hash = eventstore.chain_hash(prev_hash, forged)
        await conn.execute(
            sa.update(events)
            .where(events.c.position == forged["position"])
            .values(actor=forged["actor"], prev_hash=forged["prev_hash"], hash=forged["hash"])
        )
    await conn.execute(sa.text("UPDATE log_head SET hash = :hash"), {"hash": prev_hash})
