"""Access control: the bearer token names a moderator, whose role must be one the endpoint admits."""

from __future__ import annotations

from aiohttp import web

from service import auth
from service.web.errors import ApiError
from service.web.runtime import principal_key, runtime


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
