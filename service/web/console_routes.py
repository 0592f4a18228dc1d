"""The moderators' console: its page, script and style under /moderation/, and the history a moderator may read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from service import eventstore
from service.events import comment_stream
from service.eventstore import RecordedEvent
from service.history import event_view
from service.web.access import require
from service.web.errors import json_response, not_found
from service.web.requests import comment_id_of
from service.web.runtime import runtime
from service.web.staticfiles import serve as serve_file

routes = web.RouteTableDef()

FOLDER = Path(__file__).parent / "static" / "console"
FILES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "application/javascript; charset=utf-8",
    "catalogue.js": "application/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
# Revalidated on every load (a 304 thanks to the content-hash ETag), so a fixed console reaches moderators at once.
CACHE_CONTROL = "no-cache"
HISTORY_HIDDEN = frozenset({"phone", "subject_id", "client_hash", "reporter_hash"})
"""Left out of the moderators' history: the phone and the keyed hashes that stand for a person or a reporter."""


def serve(request: web.Request, name: str) -> web.Response:
    # The page holds a moderator's token in session storage: it is never framed and never leaks its address.
    headers = {"Referrer-Policy": "no-referrer"} if name.endswith(".html") else {}
    return serve_file(request, FOLDER / name, FILES[name], cache_control=CACHE_CONTROL, extra_headers=headers)


@routes.get("/moderation/")
async def console_page(request: web.Request) -> web.Response:
    return serve(request, "index.html")


@routes.get("/moderation/console.js")
async def console_script(request: web.Request) -> web.Response:
    return serve(request, "console.js")


@routes.get("/moderation/catalogue.js")
async def console_catalogue(request: web.Request) -> web.Response:
    return serve(request, "catalogue.js")


@routes.get("/moderation/console.css")
async def console_style(request: web.Request) -> web.Response:
    return serve(request, "console.css")


def history_entry(item: RecordedEvent) -> dict[str, Any]:
    view = event_view(item)
    return {
        "stream_version": view["stream_version"],
        "type": view["type"],
        "actor": view["actor"],
        "recorded_at": view["recorded_at"],
        "request_id": view["request_id"],
        "personal_data": view["personal_data"],
        "data": {key: value for key, value in view["data"].items() if key not in HISTORY_HIDDEN},
    }


@routes.get("/api/v1/moderation/comments/{comment_id}/history")
async def history(request: web.Request) -> web.Response:
    """The comment's events, oldest first: who did what, when and why, for the console's history panel."""
    await require(request, "moderator")
    rt = runtime(request)
    comment_id = comment_id_of(request)
    async with rt.db.snapshot() as conn:
        events = await eventstore.read_stream(conn, rt.vault.session(), comment_stream(comment_id))
    if not events:
        raise not_found("no such comment")
    return json_response({"id": str(comment_id), "events": [history_entry(item) for item in events]})
