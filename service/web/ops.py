"""Operations: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from service import migrate
from service.web.errors import json_response
from service.web.openapi import spec
from service.web.runtime import runtime

routes = web.RouteTableDef()
log = logging.getLogger("comments.ops")


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    rt = runtime(request)
    checks: dict[str, str] = {}
    try:
        async with rt.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
        current, head = await migrate.current_revision(rt.db), migrate.head_revision()
        checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}: run migrate"
    except (SQLAlchemyError, OSError) as error:
        log.warning("readiness check failed", extra={"error": str(error)})
        checks["database"] = "unreachable"
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 2
    return json_response({"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        text=runtime(request).metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


@routes.get("/openapi.json")
async def openapi(_request: web.Request) -> web.Response:
    return json_response(spec())
