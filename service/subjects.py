"""Phone readers' subject ids: random, found through a lookup row that erasure deletes.

A subject id stays in the log for good (CommentSubmitted.data.subject_id, SubjectErased). Were it a keyed hash of
the phone number, anyone holding the master secret could recover an erased reader's number by trying the ~10^9
Vietnamese numbers. So the id is random ("p-" + 32 hex digits) and only the `phone_subjects` row links the number
(by its keyed hash, Keyring.phone_key) to it; erasure deletes that row and the subject's data key in one
transaction, and afterwards nothing links the number to what the log still names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from service.crypto import Keyring
from service.db import Database, to_db
from service.tables import phone_subjects

PHONE_SUBJECT_PREFIX = "p-"
UNRESOLVED = ""
"""The subject_id of a phone reader's SubmitComment before submissions.record() resolves it."""
ATTEMPTS = 5


class SubjectMoved(Exception):
    """The number's subject changed between reading it and writing (a concurrent first submission, an erasure)."""


def new_phone_subject() -> str:
    return PHONE_SUBJECT_PREFIX + uuid4().hex


async def subject_for_phone(
    conn: AsyncConnection,
    keyring: Keyring,
    phone_e164: str,
    now: datetime,
    *,
    create: bool,
    candidate: str | None = None,
) -> str | None:
    """The subject id of a normalised number; with `create`, a new random one (or `candidate`) when it has none.

    Creating is insert-if-absent (ON CONFLICT DO NOTHING, then read back): two first submissions racing on one
    number agree on whichever row won. Call it with `create` inside a write transaction.
    """
    key = keyring.phone_key(phone_e164)
    found = await _mapped(conn, key)
    if found is None and create:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        values = {"phone_key": key, "subject_id": candidate or new_phone_subject(), "created_at": to_db(now)}
        await conn.execute(dialect.insert(phone_subjects).values(**values).on_conflict_do_nothing())
        found = await _mapped(conn, key)
    return found


async def _mapped(conn: AsyncConnection, key: str) -> str | None:
    found = await conn.scalar(sa.select(phone_subjects.c.subject_id).where(phone_subjects.c.phone_key == key))
    return None if found is None else str(found)


async def forget_phone_subject(conn: AsyncConnection, subject_id: str) -> None:
    """Delete the lookup row: nothing links the number to `subject_id` any more."""
    await conn.execute(sa.delete(phone_subjects).where(phone_subjects.c.subject_id == subject_id))


async def lookup(db: Database, keyring: Keyring, phone_e164: str, now: datetime) -> str | None:
    """The number's current subject id, or None (never seen, or erased since)."""
    async with db.read() as conn:
        return await subject_for_phone(conn, keyring, phone_e164, now, create=False)


async def claim_many(
    conn: AsyncConnection, keyring: Keyring, phones: Iterable[str], now: datetime
) -> tuple[dict[str, str], set[str]]:
    """The subjects of many numbers at once (an import), new random ones for numbers that have none.

    Call it in a write transaction that holds the log's lock, as handle()'s guard does: one query reads the
    numbers' rows, one inserts the missing (ON CONFLICT DO NOTHING, then read back). Returns each number's
    subject and the subjects created here, which the caller deletes again when no submission used them.
    """
    keys = {phone: keyring.phone_key(phone) for phone in set(phones)}
    if not keys:
        return {}, set()
    found = await _mapped_many(conn, keys.values())
    fresh = {key: new_phone_subject() for key in keys.values() if key not in found}
    if fresh:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        rows = [{"phone_key": key, "subject_id": subject, "created_at": to_db(now)} for key, subject in fresh.items()]
        await conn.execute(dialect.insert(phone_subjects).values(rows).on_conflict_do_nothing())
        found.update(await _mapped_many(conn, fresh))
    created = {subject for key, subject in fresh.items() if found.get(key) == subject}
    return {phone: found[key] for phone, key in keys.items()}, created


async def _mapped_many(conn: AsyncConnection, keys: Iterable[str]) -> dict[str, str]:
    rows = await conn.execute(
        sa.select(phone_subjects.c.phone_key, phone_subjects.c.subject_id).where(
            phone_subjects.c.phone_key.in_(list(keys))
        )
    )
    return {str(row.phone_key): str(row.subject_id) for row in rows}


async def forget_unused(conn: AsyncConnection, subject_ids: Iterable[str]) -> None:
    """Delete the lookup rows of subjects created by claim_many() that no submission ended up using."""
    unused = list(subject_ids)
    if unused:
        await conn.execute(sa.delete(phone_subjects).where(phone_subjects.c.subject_id.in_(unused)))


def claim_guard(
    keyring: Keyring, phone_e164: str, subject_id: str, now: datetime, *, fresh: bool
) -> Callable[[AsyncConnection], Awaitable[None]]:
    """A handle() guard: the number's subject is still `subject_id`, else SubjectMoved.

    A `fresh` subject (the number had none when read) is created now unless another writer got there first. One
    that was read is never created again: its row gone means an erasure came in between, and re-linking the number
    to the erased subject is exactly what must not happen.
    """

    async def guard(conn: AsyncConnection) -> None:
        found = await subject_for_phone(conn, keyring, phone_e164, now, create=fresh, candidate=subject_id)
        if found != subject_id:
            raise SubjectMoved("the number's subject changed: resolve it again")

    return guard
