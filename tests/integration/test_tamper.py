"""Tamper evidence: change the log behind the service's back (as a superuser, in raw SQL); verify names the spot."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.application import handle
from service.commands import ApproveComment
from service.crypto import Vault
from service.db import Database, utcnow
from tests.integration.cli_runner import run
from tests.integration.tampering import (
    Tamper,
    behind_the_services_back,
    delete_one,
    flip_a_byte_of_ciphertext,
    submit,
    swap_two,
    truncate_tail,
)


async def _five_events(db: Database, vault: Vault) -> None:
    for index in range(3):
        comment_id = await submit(db, vault, index, article_id="tamper")
        if index < 2:
            await handle(db, vault, ApproveComment(comment_id=comment_id, moderator="lan"), now=utcnow())


async def _alter_data(conn: AsyncConnection) -> None:
    await conn.execute(sa.text("UPDATE events SET actor = 'moderator:mallory' WHERE position = 3"))


CASES = [
    pytest.param(_alter_data, 3, id="altered-data"),
    pytest.param(flip_a_byte_of_ciphertext, 5, id="flipped-byte"),
    pytest.param(delete_one, 2, id="deleted-row"),
    pytest.param(swap_two, 2, id="swapped-rows"),
    pytest.param(truncate_tail, 5, id="truncated-tail"),
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

    await behind_the_services_back(fresh_db, tamper)

    async with fresh_db.read() as conn:
        result = await eventstore.verify(conn)
    assert (result.ok, result.first_bad_position) == (False, first_bad)


async def test_the_audit_verify_command_exits_non_zero_and_names_the_position(
    fresh_database_url: str, fresh_db: Database, vault: Vault
) -> None:
    await _five_events(fresh_db, vault)
    await behind_the_services_back(fresh_db, _alter_data)
    await fresh_db.dispose()

    done = await run(fresh_database_url, "audit", "verify")

    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_position"] == 3
    assert "3" in done.stderr
