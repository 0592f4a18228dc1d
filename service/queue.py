"""The moderators' use cases: the queue (filters, keyset cursor), leases on items, and decisions under them."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.application import Outcome, handle
from service.auth import Principal
from service.commands import EditComment, ModeratorCommand
from service.db import Database, iso, utc
from service.moderation import CommentNotFound, DomainError, InvalidField
from service.runtime import Runtime
from service.tables import claims, moderation_queue

FLAG_CODE = re.compile(r"^[a-z_]{1,40}$")
QUEUE_STATUSES = ("pending", "reported", "approved", "rejected", "hidden")
ACTIONS = ("approve", "reject", "edit", "hide", "restore")
DEFAULT_LEASE_SECONDS = 300
MAX_BULK = 200
RELATED_MAX = 50


class Claimed(DomainError):
    """Another moderator holds a live lease on the comment."""

    code = "claimed"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueFilter:
    status: str = "pending"
    article_id: str | None = None
    flag: str | None = None
    submitted_after: datetime | None = None
    submitted_before: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Decision:
    comment_id: UUID
    status: str | None
    outcome: Outcome

    def view(self) -> dict[str, Any]:
        return {"id": str(self.comment_id), "status": self.status, "version": self.outcome.version}


def item_view(row: Any, now: datetime) -> dict[str, Any]:
    """A queue item as moderators see it: the only mapping of a queue row to JSON."""
    claimed = row.claim_moderator is not None and utc(row.claim_expires_at) > now
    return {
        "id": str(row.comment_id),
        "article_id": row.article_id,
        "parent_id": None if row.parent_id is None else str(row.parent_id),
        "status": row.status,
        "published": bool(row.visible),
        "version": row.version,
        "author_name": row.author_name,
        "phone": row.phone,
        "title": row.title,
        "body": row.body,
        "submitted_at": iso(row.submitted_at),
        "updated_at": iso(row.updated_at),
        "flags": row.flags,
        "report_count": row.report_count,
        "report_reasons": row.report_reasons,
        "reason_code": row.reason_code,
        "erased": bool(row.erased),
        "claimed_by": row.claim_moderator if claimed else None,
        "claim_expires_at": iso(row.claim_expires_at) if claimed else None,
    }


def encode_cursor(submitted_at: datetime, comment_id: UUID) -> str:
    raw = json.dumps([iso(submitted_at), str(comment_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, comment_id = json.loads(raw)
        return utc(datetime.fromisoformat(stamp.replace("Z", "+00:00"))), UUID(comment_id)
    except (ValueError, TypeError, AttributeError, OverflowError, binascii.Error, json.JSONDecodeError):
        raise InvalidField("cursor", "invalid", "the cursor is not one this service gave out") from None


def flag_filter(code: str) -> sa.ColumnElement[bool]:
    # Flags are a JSON list written by our own serializer, so a textual match on `"code": "<code>"` is exact on
    # both backends; codes are checked against a fixed pattern first and bound as a parameter.
    return sa.cast(moderation_queue.c.flags, sa.Text).like(f'%"code": "{code}"%')


async def listing(db: Database, wanted: QueueFilter, now: datetime) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the queue in submission order, and the cursor of the next page (None on the last)."""
    async with db.read() as conn:
        rows = (await conn.execute(listing_statement(wanted))).all()
    page = rows[: wanted.limit]
    more = len(rows) > wanted.limit
    next_cursor = encode_cursor(page[-1].submitted_at, page[-1].comment_id) if more else None
    return [item_view(row, now) for row in page], next_cursor


def listing_statement(wanted: QueueFilter) -> sa.Select[Any]:
    """The page's query: one row more than asked, to know whether another page follows."""
    q = moderation_queue
    statement = _select().where(_status_filter(wanted.status))
    if wanted.article_id:
        statement = statement.where(q.c.article_id == wanted.article_id)
    if wanted.flag:
        statement = statement.where(flag_filter(wanted.flag))
    if wanted.submitted_after is not None:
        statement = statement.where(q.c.submitted_at >= wanted.submitted_after)
    if wanted.submitted_before is not None:
        statement = statement.where(q.c.submitted_at < wanted.submitted_before)
    if wanted.cursor:
        stamp, last_id = decode_cursor(wanted.cursor)
        # Keyset pagination, stable while items change status under the reader. A row-value comparison, not
        # `a > x OR (a = x AND b > y)`: both databases seek the (status, submitted_at, comment_id) index straight
        # to the cursor with it, where the OR form made SQLite walk the index from the start (a deep page cost
        # as much as all the pages before it).
        after = sa.tuple_(q.c.submitted_at, q.c.comment_id) > sa.tuple_(
            sa.literal(stamp, q.c.submitted_at.type), sa.literal(last_id, q.c.comment_id.type)
        )
        statement = statement.where(after)
    return statement.order_by(q.c.submitted_at, q.c.comment_id).limit(wanted.limit + 1)


async def entry(db: Database, comment_id: UUID, now: datetime) -> dict[str, Any]:
    async with db.read() as conn:
        return item_view(await _row(conn, comment_id), now)


async def related(db: Database, comment_id: UUID, now: datetime) -> list[dict[str, Any]]:
    """The same author's other comments, newest first: what a moderator weighs before deciding."""
    async with db.read() as conn:
        row = await _row(conn, comment_id)
        rows = (
            await conn.execute(
                _select()
                .where(_same_author(row), moderation_queue.c.comment_id != comment_id)
                .order_by(moderation_queue.c.submitted_at.desc())
                .limit(RELATED_MAX)
            )
        ).all()
    return [item_view(item, now) for item in rows]


async def pending_by_same_author(db: Database, comment_id: UUID) -> list[tuple[UUID, int]]:
    """(id, version) of every pending comment by this comment's author, oldest first: a spam wave to reject."""
    async with db.read() as conn:
        row = await _row(conn, comment_id)
        targets = await conn.execute(
            sa.select(moderation_queue.c.comment_id, moderation_queue.c.version)
            .where(_same_author(row), moderation_queue.c.status == "pending")
            .order_by(moderation_queue.c.submitted_at)
        )
        return [(target.comment_id, int(target.version)) for target in targets]


async def claim(
    db: Database, moderator: str, *, limit: int, lease_seconds: int, article_id: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Lease up to `limit` pending items to `moderator` (renewing the ones already held): never one another holds."""
    expires = now + timedelta(seconds=lease_seconds)
    q = moderation_queue
    async with db.write() as conn:
        # The write transaction serialises claimers (row locks on PostgreSQL, the write lock on SQLite), so two
        # moderators claiming at once get disjoint sets.
        await conn.execute(sa.delete(claims).where(claims.c.expires_at <= now))
        mine = (await conn.execute(sa.select(claims.c.comment_id).where(claims.c.moderator == moderator))).scalars()
        held = set(mine)
        if held:
            await conn.execute(sa.update(claims).where(claims.c.moderator == moderator).values(expires_at=expires))
        wanted = max(0, limit - len(held))
        if wanted:
            free = (
                sa.select(q.c.comment_id)
                .where(q.c.status == "pending", ~q.c.comment_id.in_(sa.select(claims.c.comment_id)))
                .order_by(q.c.submitted_at, q.c.comment_id)
                .limit(wanted)
            )
            if article_id:
                free = free.where(q.c.article_id == article_id)
            if conn.dialect.name == "postgresql":
                free = free.with_for_update(skip_locked=True)
            for comment_id in list((await conn.execute(free)).scalars()):
                await conn.execute(
                    sa.insert(claims).values(comment_id=comment_id, moderator=moderator, expires_at=expires)
                )
                held.add(comment_id)
        rows = (
            (await conn.execute(_select().where(q.c.comment_id.in_(held)).order_by(q.c.submitted_at))).all()
            if held
            else []
        )
    return [item_view(row, now) for row in rows]


async def release(db: Database, moderator: str, comment_ids: Sequence[UUID] = ()) -> int:
    """Release the moderator's leases: all of them, or only `comment_ids`; returns how many."""
    statement = sa.delete(claims).where(claims.c.moderator == moderator)
    if comment_ids:
        statement = statement.where(claims.c.comment_id.in_(comment_ids))
    async with db.write() as conn:
        released = await conn.execute(statement)
    return int(released.rowcount or 0)


async def decide(
    rt: Runtime,
    principal: Principal,
    command: ModeratorCommand,
    *,
    meta: Mapping[str, Any],
    idempotency_key: str | None = None,
) -> Decision:
    """Apply one moderator's decision: Claimed when another holds the comment (unless the caller is an admin),
    else the domain's and the log's refusals. A decided comment's lease ends; an edited one stays leased."""
    comment_id = command.comment_id
    now = rt.clock()

    async def not_claimed_by_another(conn: AsyncConnection) -> None:
        await _check_claim(conn, principal, comment_id, now)
        if not isinstance(command, EditComment):
            # The lease ends with the decision, in its transaction: a refused decision rolls this back too.
            await conn.execute(sa.delete(claims).where(claims.c.comment_id == comment_id))

    outcome = await handle(
        rt.db,
        rt.vault,
        command,
        now=now,
        meta=meta,
        idempotency_key=idempotency_key,
        guard=not_claimed_by_another,
    )
    status = outcome.state.status.value if outcome.state is not None else None
    if status is None:
        async with rt.db.read() as conn:
            status = await conn.scalar(
                sa.select(moderation_queue.c.status).where(moderation_queue.c.comment_id == comment_id)
            )
    return Decision(comment_id, status, outcome)


async def _check_claim(conn: AsyncConnection, principal: Principal, comment_id: UUID, now: datetime) -> None:
    holder = (
        await conn.execute(
            sa.select(claims.c.moderator).where(claims.c.comment_id == comment_id, claims.c.expires_at > now)
        )
    ).scalar_one_or_none()
    if holder is not None and holder != principal.name and not principal.is_admin:
        raise Claimed(f"{holder} is working on this comment")


def _select() -> sa.Select[Any]:
    q = moderation_queue
    return sa.select(
        q, claims.c.moderator.label("claim_moderator"), claims.c.expires_at.label("claim_expires_at")
    ).select_from(q.outerjoin(claims, claims.c.comment_id == q.c.comment_id))


def _status_filter(status: str) -> sa.ColumnElement[bool]:
    q = moderation_queue
    if status == "reported":
        return sa.and_(q.c.report_count > 0, q.c.visible.is_(True))
    return q.c.status == status


def _same_author(row: Any) -> sa.ColumnElement[bool]:
    """One author: the same phone (one data-key subject), or, without a phone, the same name from the same address."""
    q = moderation_queue
    subject: str = row.subject_id
    client: str | None = row.client_hash
    if subject.startswith("p-") or client is None:
        return q.c.subject_id == subject
    return sa.and_(q.c.author_name == str(row.author_name), q.c.client_hash == client)


async def _row(conn: AsyncConnection, comment_id: UUID) -> Any:
    row = (await conn.execute(_select().where(moderation_queue.c.comment_id == comment_id))).first()
    if row is None:
        raise CommentNotFound("no such comment")
    return row
