"""Phone readers' subject ids are random: after an erasure nothing links the number to what the log still names."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import uuid
from datetime import timedelta

import sqlalchemy as sa

from service import privacy, subjects, submissions
from service.commands import SubmitComment
from service.crypto import Vault
from service.db import Database, utcnow
from service.tables import events, metadata, phone_subjects, subject_keys
from service.text import normalize_phone


def _submission(phone: str | None) -> SubmitComment:
    comment_id = uuid.uuid4()
    return SubmitComment(
        comment_id=comment_id,
        article_id="subjects",
        subject_id=subjects.UNRESOLVED if phone else f"c-{comment_id}",
        author_name="Lê Văn Tám",
        phone=phone,
        title="Ý kiến",
        body="Một bình luận.",
    )


async def _submit(db: Database, vault: Vault, phone: str) -> str:
    outcome = await submissions.record(db, vault, _submission(normalize_phone(phone)), now=utcnow())
    subject = outcome.recorded[0].event.subject_id  # type: ignore[union-attr]
    return str(subject)


async def _lookup_rows(db: Database, vault: Vault, phone: str) -> list[str]:
    key = vault.keyring.phone_key(normalize_phone(phone))
    async with db.read() as conn:
        found = await conn.execute(sa.select(phone_subjects.c.subject_id).where(phone_subjects.c.phone_key == key))
        return [str(subject) for subject in found.scalars()]


async def _everything_stored(db: Database) -> str:
    """Every row of every table, as text: what someone with the database (and the master key) could search."""
    parts = []
    async with db.read() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


async def test_a_phone_readers_subject_is_random_and_shared_by_their_comments(fresh_db: Database, vault: Vault) -> None:
    first = await _submit(fresh_db, vault, "0912 000 001")
    second = await _submit(fresh_db, vault, "+84912000001")
    other = await _submit(fresh_db, vault, "0912 000 002")

    assert re.fullmatch(r"p-[0-9a-f]{32}", first)
    assert (second, await _lookup_rows(fresh_db, vault, "0912000001")) == (first, [first])
    assert other != first


async def test_after_an_erasure_nothing_links_the_number_to_its_subject(fresh_db: Database, vault: Vault) -> None:
    phone = normalize_phone("0913 000 003")
    subject = await _submit(fresh_db, vault, phone)
    await _submit(fresh_db, vault, phone)

    erasure = await privacy.erase_phone(fresh_db, vault, phone, requested_by="moderator:lan", now=utcnow())

    assert (erasure.subject_id, erasure.erased, erasure.comments) == (subject, True, 2)
    assert await _lookup_rows(fresh_db, vault, phone) == []
    digest = hmac.new(vault.keyring.subject, phone.encode(), hashlib.sha256).hexdigest()
    async with fresh_db.read() as conn:
        submitted = await conn.execute(
            sa.select(events.c.data, events.c.meta).where(events.c.type == "CommentSubmitted")
        )
        recorded = {(data["subject_id"], meta.get("subject", data["subject_id"])) for data, meta in submitted.all()}
        keys = list((await conn.execute(sa.select(subject_keys.c.subject_id))).scalars())
    # The log still names the subject, but the name says nothing about the number...
    assert recorded == {(subject, subject)}
    assert subject not in {"p-" + digest[:40], "p-" + digest}
    assert digest[:32] not in subject
    # ...and nothing stored anywhere holds the number's keyed hash (the key is gone too).
    stored = await _everything_stored(fresh_db)
    assert digest[:40] not in stored
    assert phone not in stored
    assert subject not in keys
    # The same number later is a new reader: a new random subject, a new key.
    again = await _submit(fresh_db, vault, phone)
    assert again != subject
    assert await _lookup_rows(fresh_db, vault, phone) == [again]


async def test_erasing_an_unknown_number_changes_nothing(fresh_db: Database, vault: Vault) -> None:
    erasure = await privacy.erase_phone(fresh_db, vault, "0914 000 004", requested_by="moderator:lan", now=utcnow())

    assert (erasure.subject_id, erasure.erased, erasure.comments) == (None, False, 0)
    async with fresh_db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(events)) == 0


async def test_two_concurrent_first_submissions_with_one_number_share_one_subject(
    fresh_db: Database, vault: Vault
) -> None:
    phone = normalize_phone("0915 000 005")
    both_resolved = asyncio.Barrier(2)
    resolved: list[str] = []

    async def wait_for_the_other(command: SubmitComment) -> SubmitComment:
        # Both read "no subject yet" and pick their own random candidate before either writes.
        resolved.append(command.subject_id)
        if len(resolved) <= 2:
            await both_resolved.wait()
        return command

    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(
                submissions.record(fresh_db, vault, _submission(phone), now=utcnow(), prepare=wait_for_the_other)
                for _ in range(2)
            )
        ),
        timeout=30,
    )

    recorded = {outcome.recorded[0].event.subject_id for outcome in outcomes}  # type: ignore[union-attr]
    assert len(set(resolved[:2])) == 2
    assert recorded == set(await _lookup_rows(fresh_db, vault, phone))
    assert len(recorded) == 1
    async with fresh_db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(phone_subjects)) == 1
        assert await conn.scalar(sa.select(sa.func.count()).select_from(subject_keys)) == 1


async def test_a_submission_racing_an_erasure_takes_a_new_subject(fresh_db: Database, vault: Vault) -> None:
    phone = normalize_phone("0916 000 006")
    erased = await _submit(fresh_db, vault, phone)
    calls: list[str] = []

    async def erase_meanwhile(command: SubmitComment) -> SubmitComment:
        calls.append(command.subject_id)
        if len(calls) == 1:
            await privacy.erase_phone(fresh_db, vault, phone, requested_by="moderator:lan", now=utcnow())
        return command

    outcome = await submissions.record(fresh_db, vault, _submission(phone), now=utcnow(), prepare=erase_meanwhile)

    subject = outcome.recorded[0].event.subject_id  # type: ignore[union-attr]
    assert calls[0] == erased
    assert subject != erased
    assert await _lookup_rows(fresh_db, vault, phone) == [subject]
    async with fresh_db.read() as conn:
        keys = set((await conn.execute(sa.select(subject_keys.c.subject_id))).scalars())
    assert keys == {subject}


async def test_retention_erases_a_silent_number_with_its_lookup_row_and_drops_keyless_rows(
    fresh_db: Database, vault: Vault
) -> None:
    long_ago = utcnow() - timedelta(days=400)
    silent = normalize_phone("0918 000 008")
    await submissions.record(fresh_db, vault, _submission(silent), now=long_ago)
    failed = normalize_phone("0918 000 009")
    async with fresh_db.write() as conn:  # a first submission that claimed a subject, then never got a key
        await subjects.subject_for_phone(conn, vault.keyring, failed, long_ago, create=True)

    done = await privacy.apply_retention(fresh_db, vault, older_than=timedelta(days=365), now=utcnow())

    assert [(erasure.erased, erasure.comments) for erasure in done] == [(True, 1)]
    assert await _lookup_rows(fresh_db, vault, silent) == []
    assert await _lookup_rows(fresh_db, vault, failed) == []
