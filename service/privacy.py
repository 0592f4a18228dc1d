"""Personal data on request: erase a phone number's subject, shred old ones (retention), export what is held."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import codec, eventstore, subjects
from service.application import handle
from service.commands import EraseSubject
from service.crypto import Vault
from service.db import Database, iso, utc
from service.events import CommentReported, subject_stream
from service.subjects import PHONE_SUBJECT_PREFIX
from service.tables import events, moderation_queue, phone_subjects, subject_keys
from service.text import mask_phone, normalize_phone

OTHER_PEOPLES_FIELDS = frozenset({"reporter_hash"})
"""Left out of a subject's export: the keyed hash of whoever reported their comment is someone else's data."""


@dataclass(frozen=True, slots=True)
class Erasure:
    subject_id: str | None
    """The subject erased, or None when the number had none (never seen, or erased before)."""
    erased: bool
    """False when nothing readable was held (never seen, or erased before): nothing was appended."""
    comments: int
    """The subject's comments whose personal data this erasure made unreadable."""


async def phone_subject(db: Database, vault: Vault, phone: str, now: datetime) -> str | None:
    """The subject id of a phone number in any usual spelling, or None when it has none (never seen, or erased).

    Raises text.FieldError when it is not a phone number.
    """
    return await subjects.lookup(db, vault.keyring, normalize_phone(phone), now)


async def _has_key(conn: AsyncConnection, subject_id: str) -> bool:
    found = await conn.scalar(sa.select(subject_keys.c.subject_id).where(subject_keys.c.subject_id == subject_id))
    return found is not None


async def _comment_count(conn: AsyncConnection, subject_id: str) -> int:
    q = moderation_queue
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(q).where(q.c.subject_id == subject_id)) or 0)


async def _forget(conn: AsyncConnection, subject_id: str) -> None:
    await subjects.forget_phone_subject(conn, subject_id)


async def erase_subject(
    db: Database,
    vault: Vault,
    subject_id: str,
    *,
    requested_by: str,
    now: datetime,
    reason: str = "request",
    meta: Mapping[str, Any] | None = None,
) -> Erasure:
    """Shred the subject's key and record SubjectErased (projections anonymise); a no-op once nothing is readable.

    A phone subject's lookup row goes in the same transaction as its key: afterwards nothing links the number to
    the subject id the log keeps.
    """
    async with db.write() as conn:
        # Under the log's lock, as submissions claim lookup rows: a keyless row (a submission that failed) goes now.
        await eventstore.lock_head(conn)
        held = await _has_key(conn, subject_id)
        if not held:
            await _forget(conn, subject_id)
    if held:
        command = EraseSubject(subject_id=subject_id, requested_by=requested_by, reason=reason)
        await handle(db, vault, command, now=now, meta=meta, guard=partial(_forget, subject_id=subject_id))
    async with db.read() as conn:
        count = await _comment_count(conn, subject_id) if held else 0
    return Erasure(subject_id=subject_id, erased=held, comments=count)


async def erase_phone(
    db: Database,
    vault: Vault,
    phone: str,
    *,
    requested_by: str,
    now: datetime,
    reason: str = "request",
    meta: Mapping[str, Any] | None = None,
) -> Erasure:
    """Erase the subject of a phone number in any usual spelling; nothing to do when it has none."""
    subject_id = await phone_subject(db, vault, phone, now)
    if subject_id is None:
        return Erasure(subject_id=None, erased=False, comments=0)
    return await erase_subject(db, vault, subject_id, requested_by=requested_by, now=now, reason=reason, meta=meta)


async def expired_phone_subjects(conn: AsyncConnection, cutoff: datetime) -> list[str]:
    """Phone subjects still holding a key whose newest comment was submitted before `cutoff`."""
    q = moderation_queue
    statement = (
        sa.select(q.c.subject_id)
        .where(
            q.c.subject_id.startswith(PHONE_SUBJECT_PREFIX),
            q.c.subject_id.in_(sa.select(subject_keys.c.subject_id)),
        )
        .group_by(q.c.subject_id)
        .having(sa.func.max(q.c.submitted_at) < utc(cutoff))
        .order_by(q.c.subject_id)
    )
    return list((await conn.execute(statement)).scalars())


async def apply_retention(db: Database, vault: Vault, *, older_than: timedelta, now: datetime) -> list[Erasure]:
    """Erase every phone subject silent for longer than `older_than`; run it again and it finds nothing new."""
    cutoff = utc(now) - older_than
    async with db.read() as conn:
        expired = await expired_phone_subjects(conn, cutoff)
    done = []
    for subject_id in expired:
        done.append(await erase_subject(db, vault, subject_id, requested_by="system", reason="retention", now=now))
    async with db.write() as conn:
        # Lookup rows whose subject never got a key (its first submission failed) link a number to nothing.
        await eventstore.lock_head(conn)
        await conn.execute(
            sa.delete(phone_subjects).where(
                phone_subjects.c.created_at < cutoff,
                phone_subjects.c.subject_id.not_in(sa.select(subject_keys.c.subject_id)),
            )
        )
    return done


# --- a data-access request ------------------------------------------------------------------------------------


def _comment_view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.comment_id),
        "article_id": row.article_id,
        "parent_id": None if row.parent_id is None else str(row.parent_id),
        "status": row.status,
        "published": bool(row.visible),
        "author_name": row.author_name,
        "phone": row.phone,
        "title": row.title,
        "body": row.body,
        "submitted_at": iso(row.submitted_at),
        "updated_at": iso(row.updated_at),
        "flags": row.flags,
        "report_count": row.report_count,
        "reason_code": row.reason_code,
        "erased": bool(row.erased),
    }


def _event_view(item: eventstore.RecordedEvent) -> dict[str, Any]:
    _kind, _version, data, personal = codec.encode(item.event)
    fields = {**data, **(personal or {})} if item.pii_readable else data
    # Staff names are the staff's personal data: the subject learns a moderator decided, and when, and why.
    if "moderator" in fields:
        fields["moderator"] = "moderator"
    return {
        "position": item.position,
        "stream_id": item.stream_id,
        "type": item.type,
        "actor": item.actor.partition(":")[0],
        "recorded_at": iso(item.recorded_at),
        "personal_data": "readable" if item.pii_readable else "erased",
        "data": {key: value for key, value in fields.items() if key not in OTHER_PEOPLES_FIELDS},
    }


async def subject_export(db: Database, vault: Vault, phone: str, *, now: datetime) -> dict[str, Any]:
    """Everything held on one phone number, for a data-access request: comments, events, reports, key metadata."""
    # Only the lookup row links the number to a subject: after an erasure it is gone, and so is every link.
    subject_id = await phone_subject(db, vault, phone, now) or ""
    async with db.snapshot() as conn:
        key_created = await conn.scalar(
            sa.select(subject_keys.c.created_at).where(subject_keys.c.subject_id == subject_id)
        )
        # The log, not a read model, says which comments are the subject's.
        submitted = sa.select(events.c.stream_id).where(
            events.c.type == "CommentSubmitted", events.c.data["subject_id"].as_string() == subject_id
        )
        streams = [str(stream) for stream in (await conn.execute(submitted)).scalars()]
        rows = (
            await conn.execute(
                sa.select(events)
                .where(events.c.stream_id.in_([*streams, subject_stream(subject_id)]))
                .order_by(events.c.position)
            )
        ).all()
        recorded = await eventstore._decode_rows(conn, vault.session(), rows)
        ids = [UUID(stream.removeprefix("comment-")) for stream in streams]
        comments = (
            await conn.execute(
                sa.select(moderation_queue)
                .where(moderation_queue.c.comment_id.in_(ids))
                .order_by(moderation_queue.c.submitted_at)
            )
        ).all()
    reports = [
        {"comment_id": str(item.event.comment_id), "reason": item.event.reason, "reported_at": iso(item.recorded_at)}
        for item in recorded
        if isinstance(item.event, CommentReported)
    ]
    return {
        "generated_at": iso(now),
        "phone": mask_phone(normalize_phone(phone)),
        "subject_id": subject_id or None,
        "key": {"exists": key_created is not None, "created_at": None if key_created is None else iso(key_created)},
        "erased": any(item.stream_id == subject_stream(subject_id) for item in recorded),
        "comments": [_comment_view(row) for row in comments],
        "reports": reports,
        "events": [_event_view(item) for item in recorded],
    }
