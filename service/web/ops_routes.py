"""Operations: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web

from service import health
from service.web.errors import json_response
from service.web.openapi import spec
from service.web.runtime import runtime

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = await health.readiness(runtime(request).db)
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 2
    return json_response({"status": "ready" if ready else "not_ready", "checks": checks}, status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    rt = runtime(request)
    return web.Response(
        text=rt.metrics.render(await rt.subscribers.lag(rt.db), (rt.renders.rendered, rt.renders.reused)),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


@routes.get("/openapi.json")
async def openapi(_request: web.Request) -> web.Response:
    return json_response(spec())
