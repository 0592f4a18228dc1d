"""Auditors' endpoints: a comment's history and past state, the log paged or streamed, seals, the chain's check."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from service import eventstore, history, seals
from service.db import iso
from service.events import ARTICLE_ID, EVENT_TYPES, comment_stream
from service.history import LogFilter, event_view
from service.web.access import require
from service.web.errors import json_response, not_found, validation_failed
from service.web.jsonio import query_int, query_time
from service.web.requests import accepts, comment_id_of
from service.web.runtime import request_id_key, runtime, seal_key

routes = web.RouteTableDef()

NDJSON = "application/x-ndjson"
ACTOR_MAX_LEN = 200


def moment(request: web.Request, name: str) -> datetime | None:
    return query_time(request, name, zone_required=True)


def log_filter(request: web.Request) -> LogFilter:
    types = tuple(dict.fromkeys(request.query.getall("type", [])))
    errors: dict[str, str] = {}
    if any(kind not in EVENT_TYPES for kind in types):
        errors["type"] = "invalid_choice"
    actor = request.query.get("actor") or None
    if actor is not None and len(actor) > ACTOR_MAX_LEN:
        errors["actor"] = "too_long"
    article_id = request.query.get("article_id") or None
    if article_id is not None and not ARTICLE_ID.fullmatch(article_id):
        errors["article_id"] = "invalid"
    if errors:
        raise validation_failed(errors)
    return LogFilter(
        types=types, actor=actor, article_id=article_id, since=moment(request, "since"), until=moment(request, "until")
    )


def wants_ndjson(request: web.Request) -> bool:
    return accepts(request.headers.get("Accept", ""), NDJSON)


@routes.get("/api/v1/audit/comments/{comment_id}/events")
async def comment_history(request: web.Request) -> web.Response:
    """Every event of the comment, and its state as of `at` (default: now) folded from the events until then."""
    await require(request, "auditor")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    at = moment(request, "at")
    async with rt.db.snapshot() as conn:
        found = await eventstore.read_stream(conn, rt.vault.session(), comment_stream(comment_id))
    if not found:
        raise not_found("no such comment")
    return json_response(
        {
            "id": str(comment_id),
            "at": None if at is None else iso(at),
            "state": history.state_at(found, at or rt.clock()),
            "events": [event_view(item) for item in found],
        }
    )


async def _stream(request: web.Request, selection: LogFilter, after: int) -> web.StreamResponse:
    """The whole filtered log as NDJSON, written batch by batch: memory stays flat however long the log."""
    rt = runtime(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": f"{NDJSON}; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # The middlewares add their headers after the handler returns, too late for a stream already sent.
            "X-Request-Id": request.get(request_id_key, ""),
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    async with rt.db.snapshot() as conn:
        async for found in history.batches(conn, rt.vault, selection, after=after):
            await response.write(b"".join(history.ndjson_line(item) for item in found))
    await response.write_eof()
    return response


@routes.get("/api/v1/audit/events")
async def log(request: web.Request) -> web.StreamResponse:
    await require(request, "auditor")
    rt = runtime(request)
    after = query_int(request, "after", 0, 0, 2**62)
    selection = log_filter(request)
    if wants_ndjson(request):
        return await _stream(request, selection, after)
    limit = query_int(request, "limit", 100, 1, 1000)
    async with rt.db.snapshot() as conn:
        found = await history.page(conn, rt.vault, selection, after=after, limit=limit)
    next_after = found[-1].position if len(found) == limit else None
    return json_response({"items": [event_view(item) for item in found], "next_after": next_after})


@routes.get("/api/v1/audit/seals")
async def seal_list(request: web.Request) -> web.Response:
    """Every seal as NDJSON with its public key: keep a copy away from the database for `audit verify --seals`."""
    await require(request, "auditor")
    rt = runtime(request)
    key = request.app[seal_key]
    async with rt.db.read() as conn:
        stored = await seals.stored(conn)
    body = "".join(seals.export_line(seal, key.public_bytes) + "\n" for seal in stored)
    return web.Response(text=body, content_type=NDJSON, charset="utf-8", headers={"Cache-Control": "no-store"})


@routes.get("/api/v1/audit/verify")
async def verify(request: web.Request) -> web.Response:
    """Recompute the chain and check the database's seals against it."""
    await require(request, "auditor")
    rt = runtime(request)
    async with rt.db.snapshot() as conn:
        result = await seals.verify(conn, request.app[seal_key])
    return json_response(result)
