"""Operations: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import hmac

from aiohttp import web

from service import health
from service.web.errors import ApiError, json_response
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
    expected = rt.settings.metrics_token
    if expected is not None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode("utf-8", "surrogatepass"), expected.encode()
        ):
            raise ApiError(
                401,
                "unauthorized",
                "the metrics need the token set in COMMENTS_METRICS_TOKEN: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    return web.Response(
        text=rt.metrics.render(await rt.subscribers.lag(rt.db), (rt.renders.rendered, rt.renders.reused)),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


@routes.get("/openapi.json")
async def openapi(_request: web.Request) -> web.Response:
    return json_response(spec())
