"""Admins manage moderators over the API: list them, issue a token (shown once), revoke one."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service import auth
from service.db import iso
from service.web.access import require
from service.web.errors import ApiError, json_response, not_found
from service.web.jsonio import Fields, read_object
from service.web.runtime import runtime

routes = web.RouteTableDef()


def _view(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "role": row.role,
        "created_at": iso(row.created_at),
        "revoked_at": None if row.revoked_at is None else iso(row.revoked_at),
    }


@routes.get("/api/v1/moderation/moderators")
async def list_moderators(request: web.Request) -> web.Response:
    await require(request, "admin")
    rt = runtime(request)
    async with rt.db.read() as conn:
        rows = await auth.list_all(conn)
    return json_response({"items": [_view(row) for row in rows]})


@routes.post("/api/v1/moderation/moderators")
async def add_moderator(request: web.Request) -> web.Response:
    await require(request, "admin")
    rt = runtime(request)
    fields = Fields(await read_object(request))
    name = fields.document.get("name")
    if not isinstance(name, str) or not auth.NAME_PATTERN.fullmatch(name):
        # 1-64 lower-case letters, digits, '.', '_' or '-': it shows in logs and in every decision's actor.
        fields.fail("name", "required" if name is None else "invalid")
    role = fields.choice("role", auth.ROLES)
    fields.check()
    assert isinstance(name, str)
    assert role is not None
    try:
        async with rt.db.write() as conn:
            token = await auth.add(conn, name, role, rt.clock())
    except auth.AuthError as error:
        raise ApiError(409, "moderator_exists", str(error)) from None
    body = {"name": name, "role": role, "token": token}
    # The token is shown once, here: only its hash is stored.
    return json_response(body, status=201, headers={"Cache-Control": "no-store"})


@routes.delete("/api/v1/moderation/moderators/{name}")
async def revoke_moderator(request: web.Request) -> web.Response:
    principal = await require(request, "admin")
    rt = runtime(request)
    name = request.match_info["name"]
    if name == principal.name:
        raise ApiError(409, "cannot_revoke_self", "an admin cannot revoke their own token; ask another admin")
    async with rt.db.write() as conn:
        revoked = await auth.revoke(conn, name, rt.clock())
    if not revoked:
        raise not_found("no active moderator of that name")
    return json_response({"name": name, "revoked": True})
