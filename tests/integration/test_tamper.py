"""Tamper evidence: change the log behind the service's back (as a superuser, in raw SQL); verify names the spot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.application import handle
from service.commands import ApproveComment, SubmitComment
from service.crypto import Vault
from service.db import Database, utcnow
from tests.conftest import TEST_SECRET

Tamper = Callable[[AsyncConnection], Awaitable[None]]


async def _five_events(db: Database, vault: Vault) -> None:
    for index in range(3):
        comment_id = uuid.uuid4()
        submit = SubmitComment(
            comment_id=comment_id,
            article_id="tamper",
            subject_id=f"c-{comment_id}",
            author_name="Đỗ Hùng",
            title=f"Ý kiến {index}",
            body="Nội dung",
        )
        await handle(db, vault, submit, now=utcnow())
        if index < 2:
            await handle(db, vault, ApproveComment(comment_id=comment_id, moderator="lan"), now=utcnow())


async def _behind_the_services_back(db: Database, tamper: Tamper) -> None:
    async with db.write() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("DROP TRIGGER events_no_update")
            await conn.exec_driver_sql("DROP TRIGGER events_no_delete")
        else:
            # A superuser can switch triggers off for the session: the append-only trigger is no defence.
            await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        await tamper(conn)


async def _alter_data(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("UPDATE events SET actor = 'moderator:mallory' WHERE position = 3"))


async def _flip_a_byte_of_ciphertext(conn: AsyncConnection) -> None:
    pii = await conn.scalar(sa.text("SELECT pii FROM events WHERE position = 5"))
    assert pii is not None
    flipped = bytes([pii[0] ^ 1]) + bytes(pii[1:])
    await conn.execute(sa.text("UPDATE events SET pii = :pii WHERE position = 5"), {"pii": flipped})


async def _delete_one(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("DELETE FROM events WHERE position = 2"))


async def _swap_two(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("UPDATE events SET position = -1 WHERE position = 2"))
    await conn.execute(sa.text("UPDATE events SET position = 2 WHERE position = 3"))
    await conn.execute(sa.text("UPDATE events SET position = 3 WHERE position = -1"))


async def _truncate_tail(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("DELETE FROM events WHERE position = 5"))


CASES = [
    pytest.param(_alter_data, 3, id="altered-data"),
    pytest.param(_flip_a_byte_of_ciphertext, 5, id="flipped-byte"),
    pytest.param(_delete_one, 2, id="deleted-row"),
    pytest.param(_swap_two, 2, id="swapped-rows"),
    pytest.param(_truncate_tail, 5, id="truncated-tail"),
]


async def test_an_untouched_log_verifies(fresh_db: Database, vault: Vault) -> None:
    await _five_events(fresh_db, vault)

    async with fresh_db.read() as conn:
        result = await eventstore.verify(conn)

    assert (result.ok, result.checked, result.head_position, result.first_bad_position) == (True, 5, 5, None)


@pytest.mark.parametrize(("tamper", "first_bad"), CASES)
async def test_verify_names_the_first_bad_position(
    fresh_db: Database, vault: Vault, tamper: Tamper, first_bad: int
) -> None:
    await _five_events(fresh_db, vault)

    await _behind_the_services_back(fresh_db, tamper)

    async with fresh_db.read() as conn:
        result = await eventstore.verify(conn)
    assert (result.ok, result.first_bad_position) == (False, first_bad)


async def test_the_audit_verify_command_exits_non_zero_and_names_the_position(
    fresh_database_url: str, fresh_db: Database, vault: Vault
) -> None:
    await _five_events(fresh_db, vault)
    await _behind_the_services_back(fresh_db, _alter_data)
    await fresh_db.dispose()
    env = {**os.environ, "COMMENTS_DATABASE_URL": fresh_database_url, "COMMENTS_SECRET_KEY": TEST_SECRET}

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_position"] == 3
    assert "3" in done.stderr
