"""Auditors' endpoints: the log in position order, one comment's history, and the chain's verification."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service import eventstore
from service.codec import encode
from service.events import comment_stream
from service.eventstore import RecordedEvent
from service.web.errors import not_found
from service.web.jsonio import query_int
from service.web.moderation import require
from service.web.public import comment_id_of, iso
from service.web.runtime import runtime

routes = web.RouteTableDef()


def event_view(item: RecordedEvent) -> dict[str, Any]:
    _kind, _version, data, personal = encode(item.event)
    return {
        "position": item.position,
        "event_id": str(item.event_id),
        "stream_id": item.stream_id,
        "stream_version": item.stream_version,
        "type": item.type,
        "schema_version": item.schema_version,
        "actor": item.actor,
        "recorded_at": iso(item.recorded_at),
        "request_id": item.meta.get("request_id") or None,
        "data": {**data, **(personal or {})} if item.pii_readable else data,
        "personal_data": "readable" if item.pii_readable else "erased",
        "hash": item.hash,
        "prev_hash": item.prev_hash,
    }


@routes.get("/api/v1/audit/comments/{comment_id}/events")
async def comment_history(request: web.Request) -> web.Response:
    await require(request, "auditor")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    async with rt.db.read() as conn:
        history = await eventstore.read_stream(conn, rt.vault.session(), comment_stream(comment_id))
    if not history:
        raise not_found("no such comment")
    return web.json_response({"id": str(comment_id), "events": [event_view(item) for item in history]})


@routes.get("/api/v1/audit/events")
async def log(request: web.Request) -> web.Response:
    await require(request, "auditor")
    rt = runtime(request)
    after = query_int(request, "after", 0, 0, 2**62)
    limit = query_int(request, "limit", 100, 1, 1000)
    async with rt.db.read() as conn:
        page = await eventstore.read_all(conn, rt.vault.session(), after=after, limit=limit)
    next_after = page[-1].position if len(page) == limit else None
    return web.json_response({"items": [event_view(item) for item in page], "next_after": next_after})


@routes.get("/api/v1/audit/verify")
async def verify(request: web.Request) -> web.Response:
    await require(request, "auditor")
    rt = runtime(request)
    async with rt.db.read() as conn:
        result = await eventstore.verify(conn)
    return web.json_response(
        {
            "ok": result.ok,
            "checked": result.checked,
            "head_position": result.head_position,
            "head_hash": result.head_hash,
            "first_bad_position": result.first_bad_position,
            "problem": result.problem,
        }
    )
