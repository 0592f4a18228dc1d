"""Moderators' endpoints: the queue, claims (leases), decisions one by one or in bulk, article settings."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from service import auth, text
from service.application import handle
from service.commands import (
    ApproveComment,
    ChangeArticleSettings,
    EditComment,
    HideComment,
    ModeratorCommand,
    RejectComment,
    RestoreComment,
)
from service.db import utc
from service.events import ARTICLE_ID, REASON_CODES
from service.eventstore import ConcurrencyError
from service.moderation import DomainError
from service.tables import claims, moderation_queue
from service.web.errors import ApiError, from_domain, json_response, not_found, validation_failed
from service.web.jsonio import Fields, query_int, query_time, read_object
from service.web.public import _meta, article_id_of, comment_id_of, idempotency_key_of, iso
from service.web.runtime import principal_key, runtime

routes = web.RouteTableDef()

FLAG_CODE = re.compile(r"^[a-z_]{1,40}$")
QUEUE_STATUSES = ("pending", "reported", "approved", "rejected", "hidden")
ACTIONS = ("approve", "reject", "edit", "hide", "restore")
DEFAULT_LEASE_SECONDS = 300
MAX_BULK = 200


async def require(request: web.Request, *roles: str) -> auth.Principal:
    """The caller's identity: 401 without a valid bearer token, 403 when its role is not among `roles`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "unauthorized",
            "send a moderator token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="comments"'},
        )
    rt = runtime(request)
    async with rt.db.read() as conn:
        principal = await auth.authenticate(conn, token.strip())
    if principal is None:
        raise ApiError(
            401,
            "unauthorized",
            "this token is unknown or was revoked",
            headers={"WWW-Authenticate": 'Bearer realm="comments", error="invalid_token"'},
        )
    if principal.role not in roles and not principal.is_admin:
        raise ApiError(403, "forbidden", f"the {principal.role} role may not do this")
    request[principal_key] = principal
    return principal


# --- the queue ------------------------------------------------------------------------------------------------


def _encode_cursor(submitted_at: datetime, comment_id: uuid.UUID) -> str:
    raw = json.dumps([iso(submitted_at), str(comment_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, comment_id = json.loads(raw)
        return utc(datetime.fromisoformat(stamp.replace("Z", "+00:00"))), uuid.UUID(comment_id)
    except (ValueError, TypeError, AttributeError, OverflowError, binascii.Error, json.JSONDecodeError):
        raise validation_failed({"cursor": "invalid"}, "the cursor is not one this service gave out") from None


def queue_item(row: Any, now: datetime) -> dict[str, Any]:
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


def _queue_select() -> sa.Select[Any]:
    q = moderation_queue
    return sa.select(
        q, claims.c.moderator.label("claim_moderator"), claims.c.expires_at.label("claim_expires_at")
    ).select_from(q.outerjoin(claims, claims.c.comment_id == q.c.comment_id))


def _status_filter(status: str) -> sa.ColumnElement[bool]:
    q = moderation_queue
    if status == "reported":
        return sa.and_(q.c.report_count > 0, q.c.visible.is_(True))
    return q.c.status == status


def flag_filter(code: str) -> sa.ColumnElement[bool]:
    # Flags are a JSON list written by our own serializer, so a textual match on `"code": "<code>"` is exact on
    # both backends; codes are checked against a fixed pattern first and bound as a parameter.
    return sa.cast(moderation_queue.c.flags, sa.Text).like(f'%"code": "{code}"%')


@routes.get("/api/v1/moderation/queue")
async def queue(request: web.Request) -> web.Response:
    await require(request, "moderator")
    rt = runtime(request)
    status = request.query.get("status", "pending")
    if status not in QUEUE_STATUSES:
        raise validation_failed({"status": "invalid_choice"}, f"status is one of {', '.join(QUEUE_STATUSES)}")
    limit = query_int(request, "limit", 50, 1, 200)
    q = moderation_queue
    statement = _queue_select().where(_status_filter(status))
    article_id = request.query.get("article_id")
    if article_id:
        if not ARTICLE_ID.fullmatch(article_id):
            raise validation_failed({"article_id": "invalid"})
        statement = statement.where(q.c.article_id == article_id)
    flag = request.query.get("flag")
    if flag:
        if not FLAG_CODE.fullmatch(flag):
            raise validation_failed({"flag": "invalid"})
        statement = statement.where(flag_filter(flag))
    after, before = query_time(request, "submitted_after"), query_time(request, "submitted_before")
    if after is not None:
        statement = statement.where(q.c.submitted_at >= after)
    if before is not None:
        statement = statement.where(q.c.submitted_at < before)
    cursor = request.query.get("cursor")
    if cursor:
        stamp, last_id = _decode_cursor(cursor)
        # Keyset pagination on (submitted_at, comment_id): stable while items change status under the reader.
        statement = statement.where(
            sa.or_(q.c.submitted_at > stamp, sa.and_(q.c.submitted_at == stamp, q.c.comment_id > last_id))
        )
    statement = statement.order_by(q.c.submitted_at, q.c.comment_id).limit(limit + 1)
    now = rt.clock()
    async with rt.db.read() as conn:
        rows = (await conn.execute(statement)).all()
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1].submitted_at, page[-1].comment_id) if len(rows) > limit else None
    return json_response({"items": [queue_item(row, now) for row in page], "next_cursor": next_cursor})


def _same_author(row: Any) -> sa.ColumnElement[bool]:
    """One author: the same phone (one data-key subject), or, without a phone, the same name from the same address."""
    q = moderation_queue
    subject: str = row.subject_id
    client: str | None = row.client_hash
    if subject.startswith("p-") or client is None:
        return q.c.subject_id == subject
    return sa.and_(q.c.author_name == str(row.author_name), q.c.client_hash == client)


def _failed(comment_id: str | None, error: ApiError) -> dict[str, Any]:
    """One refused item of a bulk action: the contract's error body, beside the others' results."""
    failure: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.fields:
        failure["fields"] = error.fields
    return {"id": comment_id, "status": None, "error": failure}


async def _queue_row(conn: AsyncConnection, comment_id: uuid.UUID) -> Any:
    row = (await conn.execute(_queue_select().where(moderation_queue.c.comment_id == comment_id))).first()
    if row is None:
        raise not_found("no such comment")
    return row


@routes.get("/api/v1/moderation/comments/{comment_id}/related")
async def related(request: web.Request) -> web.Response:
    """The same author's other comments, newest first: what a moderator weighs before deciding."""
    await require(request, "moderator")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    async with rt.db.read() as conn:
        row = await _queue_row(conn, comment_id)
        rows = (
            await conn.execute(
                _queue_select()
                .where(_same_author(row), moderation_queue.c.comment_id != comment_id)
                .order_by(moderation_queue.c.submitted_at.desc())
                .limit(50)
            )
        ).all()
    now = rt.clock()
    return json_response({"items": [queue_item(item, now) for item in rows]})


@routes.post("/api/v1/moderation/comments/{comment_id}/reject-author")
async def reject_author(request: web.Request) -> web.Response:
    """A spam wave in one action: reject every pending comment by this comment's author."""
    principal = await require(request, "moderator")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    fields = Fields(await read_object(request))
    reason = fields.choice("reason_code", REASON_CODES)
    note = fields.optional("note", text.NOTE_MAX_LEN, multiline=True)
    fields.check()
    async with rt.db.read() as conn:
        row = await _queue_row(conn, comment_id)
        targets = (
            await conn.execute(
                sa.select(moderation_queue.c.comment_id, moderation_queue.c.version)
                .where(_same_author(row), moderation_queue.c.status == "pending")
                .order_by(moderation_queue.c.submitted_at)
            )
        ).all()
    results: list[dict[str, Any]] = []
    for target in targets:
        body = {"expected_version": target.version, "reason_code": reason, "note": note}
        try:
            results.append(await decide_one(request, principal, "reject", target.comment_id, body))
        except ApiError as error:
            results.append(_failed(str(target.comment_id), error))
    return json_response({"results": results})


@routes.get("/api/v1/moderation/comments/{comment_id}")
async def queue_entry(request: web.Request) -> web.Response:
    await require(request, "moderator")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    async with rt.db.read() as conn:
        row = await _queue_row(conn, comment_id)
    return json_response(queue_item(row, rt.clock()))


# --- claims ---------------------------------------------------------------------------------------------------


@routes.post("/api/v1/moderation/claims")
async def claim(request: web.Request) -> web.Response:
    principal = await require(request, "moderator")
    rt = runtime(request)
    fields = Fields(await read_object(request))
    limit = fields.integer("limit", minimum=1, maximum=100)
    lease = fields.integer("lease_seconds", required=False, minimum=10, maximum=3600) or DEFAULT_LEASE_SECONDS
    article_id = fields.optional_line("article_id", 200)
    fields.check()
    assert limit is not None
    now = rt.clock()
    expires = now + timedelta(seconds=lease)
    q = moderation_queue
    async with rt.db.write() as conn:
        # The write transaction serialises claimers (row locks on PostgreSQL, the write lock on SQLite), so two
        # moderators claiming at once get disjoint sets.
        await conn.execute(sa.delete(claims).where(claims.c.expires_at <= now))
        mine = (
            await conn.execute(sa.select(claims.c.comment_id).where(claims.c.moderator == principal.name))
        ).scalars()
        held = set(mine)
        if held:
            await conn.execute(sa.update(claims).where(claims.c.moderator == principal.name).values(expires_at=expires))
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
                    sa.insert(claims).values(comment_id=comment_id, moderator=principal.name, expires_at=expires)
                )
                held.add(comment_id)
        rows = (
            (await conn.execute(_queue_select().where(q.c.comment_id.in_(held)).order_by(q.c.submitted_at))).all()
            if held
            else []
        )
    return json_response({"items": [queue_item(row, now) for row in rows]})


@routes.delete("/api/v1/moderation/claims")
async def release_claims(request: web.Request) -> web.Response:
    """Release the caller's leases: all of them, or those named by `?id=` (repeatable)."""
    principal = await require(request, "moderator")
    rt = runtime(request)
    statement = sa.delete(claims).where(claims.c.moderator == principal.name)
    named = request.query.getall("id", [])
    if named:
        try:
            ids = [uuid.UUID(value) for value in named]
        except ValueError:
            raise validation_failed({"id": "invalid"}) from None
        statement = statement.where(claims.c.comment_id.in_(ids))
    async with rt.db.write() as conn:
        released = await conn.execute(statement)
    return json_response({"released": int(released.rowcount or 0)})


async def _check_claim(conn: AsyncConnection, principal: auth.Principal, comment_id: uuid.UUID, now: datetime) -> None:
    holder = (
        await conn.execute(
            sa.select(claims.c.moderator).where(claims.c.comment_id == comment_id, claims.c.expires_at > now)
        )
    ).scalar_one_or_none()
    if holder is not None and holder != principal.name and not principal.is_admin:
        raise ApiError(409, "claimed", f"{holder} is working on this comment")


# --- decisions ------------------------------------------------------------------------------------------------


def _command(action: str, comment_id: uuid.UUID, moderator: str, document: dict[str, Any]) -> ModeratorCommand:
    fields = Fields(document)
    expected = fields.integer("expected_version", minimum=1)
    note = fields.optional("note", text.NOTE_MAX_LEN, multiline=True)
    common: dict[str, Any] = {
        "comment_id": comment_id,
        "moderator": moderator,
        "expected_version": expected,
        "note": note,
    }
    command: ModeratorCommand
    if action == "approve":
        fields.check()
        command = ApproveComment(**common)
    elif action == "reject":
        reason = fields.choice("reason_code", REASON_CODES)
        fields.check()
        command = RejectComment(**common, reason_code=reason or "")
    elif action == "hide":
        reason = fields.choice("reason_code", REASON_CODES, required=False)
        fields.check()
        command = HideComment(**common, reason_code=reason)
    elif action == "restore":
        fields.check()
        command = RestoreComment(**common)
    else:
        title = fields.optional_line("title", text.TITLE_MAX_LEN)
        body = fields.optional_body("body", text.BODY_MAX_LEN)
        if note is None and "note" not in fields.errors:
            fields.fail("note", "required")
        if title is None and body is None and not fields.errors:
            fields.fail("body", "required")
        fields.check()
        command = EditComment(**common, title=title, body=body)
    return command


async def decide_one(
    request: web.Request, principal: auth.Principal, action: str, comment_id: uuid.UUID, document: dict[str, Any]
) -> dict[str, Any]:
    """Apply one decision; raises ApiError with the contract's code when it is refused."""
    rt = runtime(request)
    command = _command(action, comment_id, principal.name, document)
    now = rt.clock()

    async def not_claimed_by_another(conn: AsyncConnection) -> None:
        await _check_claim(conn, principal, comment_id, now)

    try:
        outcome = await handle(
            rt.db,
            rt.vault,
            command,
            now=now,
            meta=_meta(request),
            idempotency_key=idempotency_key_of(request),
            guard=not_claimed_by_another,
        )
    except (ConcurrencyError, DomainError) as error:
        raise from_domain(error) from None  # an ApiError, so that a bulk action reports it per item
    for item in outcome.recorded:
        rt.metrics.appended(item.type)
    if action != "edit":
        # A decided comment leaves the decider's hands; an edited one is still pending the decider's decision.
        async with rt.db.write() as conn:
            await conn.execute(sa.delete(claims).where(claims.c.comment_id == comment_id))
    status = outcome.state.status.value if outcome.state is not None else None
    if status is None:
        async with rt.db.read() as conn:
            status = await conn.scalar(
                sa.select(moderation_queue.c.status).where(moderation_queue.c.comment_id == comment_id)
            )
    return {"id": str(comment_id), "status": status, "version": outcome.version}


@routes.post("/api/v1/moderation/comments/{comment_id}/{action}")
async def decide(request: web.Request) -> web.Response:
    principal = await require(request, "moderator")
    action = request.match_info["action"]
    if action not in ACTIONS:
        raise not_found(f"no such action: use one of {', '.join(ACTIONS)}")
    comment_id = comment_id_of(request)
    document = await read_object(request)
    return json_response(await decide_one(request, principal, action, comment_id, document))


@routes.post("/api/v1/moderation/decisions")
async def decide_many(request: web.Request) -> web.Response:
    principal = await require(request, "moderator")
    document = await read_object(request)
    decisions = document.get("decisions")
    if not isinstance(decisions, list) or not decisions:
        raise validation_failed({"decisions": "required"}, "send a non-empty list of decisions")
    if len(decisions) > MAX_BULK:
        raise validation_failed({"decisions": "too_many"}, f"at most {MAX_BULK} decisions per request")
    results: list[dict[str, Any]] = []
    for item in decisions:
        raw_id = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise validation_failed({"decision": "must_be_object"})
            action = item.get("action")
            if action not in ACTIONS:
                raise validation_failed({"action": "invalid_choice"})
            try:
                comment_id = uuid.UUID(str(raw_id))
            except ValueError:
                raise validation_failed({"id": "invalid"}) from None
            results.append(await decide_one(request, principal, str(action), comment_id, item))
        except ApiError as error:
            results.append(_failed(None if raw_id is None else str(raw_id), error))
    return json_response({"results": results})


# --- article settings -----------------------------------------------------------------------------------------


@routes.put("/api/v1/moderation/articles/{article_id}/settings")
async def article_settings(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    rt = runtime(request)
    article_id = article_id_of(request)
    fields = Fields(await read_object(request))
    moderation = fields.choice("moderation", ("pre", "post"))
    closed = fields.boolean("closed")
    fields.check()
    assert closed is not None
    command = ChangeArticleSettings(article_id=article_id, moderation=moderation, closed=closed, admin=principal.name)
    outcome = await handle(rt.db, rt.vault, command, now=rt.clock(), meta=_meta(request))
    return json_response(
        {"article_id": article_id, "moderation": moderation, "closed": closed, "version": outcome.version}
    )
