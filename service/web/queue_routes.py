"""Moderators' endpoints: the queue, claims (leases), decisions one by one or in bulk, article settings."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from service import auth, queue, text
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
from service.events import ARTICLE_ID, REASON_CODES
from service.eventstore import ConcurrencyError
from service.moderation import DomainError
from service.web.access import require
from service.web.errors import ApiError, from_domain, json_response, validation_failed
from service.web.jsonio import Fields, query_int, query_time, read_object
from service.web.requests import article_id_of, comment_id_of, idempotency_key_of, request_meta
from service.web.runtime import runtime

routes = web.RouteTableDef()


# --- the queue ------------------------------------------------------------------------------------------------


@routes.get("/api/v1/moderation/queue")
async def queue_page(request: web.Request) -> web.Response:
    await require(request, "moderator")
    rt = runtime(request)
    status = request.query.get("status", "pending")
    if status not in queue.QUEUE_STATUSES:
        raise validation_failed({"status": "invalid_choice"}, f"status is one of {', '.join(queue.QUEUE_STATUSES)}")
    limit = query_int(request, "limit", 50, 1, 200)
    article_id = request.query.get("article_id") or None
    if article_id and not ARTICLE_ID.fullmatch(article_id):
        raise validation_failed({"article_id": "invalid"})
    flag = request.query.get("flag") or None
    if flag and not queue.FLAG_CODE.fullmatch(flag):
        raise validation_failed({"flag": "invalid"})
    wanted = queue.QueueFilter(
        status=status,
        article_id=article_id,
        flag=flag,
        submitted_after=query_time(request, "submitted_after"),
        submitted_before=query_time(request, "submitted_before"),
        cursor=request.query.get("cursor") or None,
        limit=limit,
    )
    items, next_cursor = await queue.listing(rt.db, wanted, rt.clock())
    return json_response({"items": items, "next_cursor": next_cursor})


@routes.get("/api/v1/moderation/comments/{comment_id}/related")
async def related(request: web.Request) -> web.Response:
    """The same author's other comments, newest first: what a moderator weighs before deciding."""
    await require(request, "moderator")
    rt = runtime(request)
    return json_response({"items": await queue.related(rt.db, comment_id_of(request), rt.clock())})


@routes.get("/api/v1/moderation/comments/{comment_id}")
async def queue_entry(request: web.Request) -> web.Response:
    await require(request, "moderator")
    rt = runtime(request)
    return json_response(await queue.entry(rt.db, comment_id_of(request), rt.clock()))


# --- claims ---------------------------------------------------------------------------------------------------


@routes.post("/api/v1/moderation/claims")
async def claim(request: web.Request) -> web.Response:
    principal = await require(request, "moderator")
    rt = runtime(request)
    fields = Fields(await read_object(request))
    limit = fields.integer("limit", minimum=1, maximum=100)
    lease = fields.integer("lease_seconds", required=False, minimum=10, maximum=3600) or queue.DEFAULT_LEASE_SECONDS
    article_id = fields.optional_line("article_id", 200)
    fields.check()
    assert limit is not None
    items = await queue.claim(
        rt.db, principal.name, limit=limit, lease_seconds=lease, article_id=article_id, now=rt.clock()
    )
    return json_response({"items": items})


@routes.delete("/api/v1/moderation/claims")
async def release_claims(request: web.Request) -> web.Response:
    """Release the caller's leases: all of them, or those named by `?id=` (repeatable)."""
    principal = await require(request, "moderator")
    try:
        ids = [uuid.UUID(value) for value in request.query.getall("id", [])]
    except ValueError:
        raise validation_failed({"id": "invalid"}) from None
    return json_response({"released": await queue.release(runtime(request).db, principal.name, ids)})


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


async def _decide(
    request: web.Request, principal: auth.Principal, command: ModeratorCommand, key: str | None
) -> dict[str, Any]:
    """Apply one decision; raises ApiError with the contract's code when it is refused."""
    rt = runtime(request)
    try:
        decision = await queue.decide(rt, principal, command, meta=request_meta(request), idempotency_key=key)
    except (ConcurrencyError, DomainError) as error:
        raise from_domain(error) from None  # an ApiError, so that a bulk action reports it per item
    if not decision.outcome.replayed:  # a retried request appended nothing
        for item in decision.outcome.recorded:
            rt.metrics.appended(item.type)
    return decision.view()


def _failed(comment_id: str | None, error: ApiError) -> dict[str, Any]:
    """One refused item of a bulk action: the contract's error body, beside the others' results."""
    failure: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.fields:
        failure["fields"] = error.fields
    return {"id": comment_id, "status": None, "error": failure}


@routes.post("/api/v1/moderation/comments/{comment_id}/reject-author")
async def reject_author(request: web.Request) -> web.Response:
    """A spam wave in one action: reject every pending comment by this comment's author."""
    principal = await require(request, "moderator")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    key = idempotency_key_of(request)
    fields = Fields(await read_object(request))
    reason = fields.choice("reason_code", REASON_CODES)
    note = fields.optional("note", text.NOTE_MAX_LEN, multiline=True)
    fields.check()
    results: list[dict[str, Any]] = []
    for target, version in await queue.pending_by_same_author(rt.db, comment_id):
        command = RejectComment(
            comment_id=target, moderator=principal.name, expected_version=version, note=note, reason_code=reason or ""
        )
        try:
            results.append(await _decide(request, principal, command, key))
        except ApiError as error:
            results.append(_failed(str(target), error))
    return json_response({"results": results})


# The action is part of the route's pattern: `.../history` and `.../related` (GET routes) must not also match a POST.
@routes.post("/api/v1/moderation/comments/{comment_id}/{action:" + "|".join(queue.ACTIONS) + "}")
async def decide(request: web.Request) -> web.Response:
    principal = await require(request, "moderator")
    action = request.match_info["action"]
    comment_id = comment_id_of(request)
    key = idempotency_key_of(request)
    document = await read_object(request)
    command = _command(action, comment_id, principal.name, document)
    return json_response(await _decide(request, principal, command, key))


@routes.post("/api/v1/moderation/decisions")
async def decide_many(request: web.Request) -> web.Response:
    principal = await require(request, "moderator")
    key = idempotency_key_of(request)  # a malformed key refuses the whole request, before any decision
    document = await read_object(request)
    decisions = document.get("decisions")
    if not isinstance(decisions, list) or not decisions:
        raise validation_failed({"decisions": "required"}, "send a non-empty list of decisions")
    if len(decisions) > queue.MAX_BULK:
        raise validation_failed({"decisions": "too_many"}, f"at most {queue.MAX_BULK} decisions per request")
    results: list[dict[str, Any]] = []
    for item in decisions:
        raw_id = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise validation_failed({"decision": "must_be_object"})
            action = item.get("action")
            if action not in queue.ACTIONS:
                raise validation_failed({"action": "invalid_choice"})
            try:
                comment_id = uuid.UUID(str(raw_id))
            except ValueError:
                raise validation_failed({"id": "invalid"}) from None
            command = _command(str(action), comment_id, principal.name, item)
            results.append(await _decide(request, principal, command, key))
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
    outcome = await handle(rt.db, rt.vault, command, now=rt.clock(), meta=request_meta(request))
    return json_response(
        {"article_id": article_id, "moderation": moderation, "closed": closed, "version": outcome.version}
    )
