"""Middlewares: request ids and JSON access logs, the contract's error bodies, CORS and security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from service.db import is_outage
from service.eventstore import ConcurrencyError
from service.moderation import DomainError
from service.redact import PREMASKED, mask
from service.web.errors import ApiError, error_response, from_domain
from service.web.runtime import principal_key, request_id_key, runtime

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

access_log = logging.getLogger("comments.access")
error_log = logging.getLogger("comments.errors")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
CORS_PATHS = ("/api/v1/captchas", "/api/v1/articles/", "/api/v1/counts", "/api/v1/comments/")
HTML_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
RETRY_AFTER_SECONDS = 5
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


UNMATCHED = "unmatched"


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    ours = not REQUEST_ID.fullmatch(incoming)
    request_id = uuid.uuid4().hex if ours else incoming
    request[request_id_key] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        elapsed = time.perf_counter() - started
        route = _route_name(request)
        runtime(request).metrics.observe(request.method, route, status, elapsed)
        principal = request.get(principal_key)
        # No query strings, bodies or headers: they may carry tokens or phone numbers. The fields are masked
        # here, and only those a client chose (its request id, an unknown method or path, a moderator's name),
        # so the line skips the masking filter's regexes: the route is our template, not the path it matched.
        fields: dict[str, object] = {
            PREMASKED: True,
            "request_id": request_id if ours else mask(request_id),
            "method": request.method if request.method in METHODS else mask(request.method),
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "moderator": None if principal is None else mask(principal.name),
        }
        if route == UNMATCHED:
            fields["path"] = mask(request.path)
        access_log.info("request", extra=fields)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except (ConcurrencyError, DomainError) as error:
        return from_domain(error).response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = STATUS_CODES.get(error.status, "http_error")
        headers = {key: value for key, value in error.headers.items() if key.lower() in ("allow", "retry-after")}
        return error_response(error.status, code, error.reason, headers=headers)
    except Exception as error:
        if is_outage(error):
            # A database that is down or restarting: "retry later", which load balancers and the widget act on.
            error_log.warning("database unavailable", extra={"request_id": request.get(request_id_key)})
            return error_response(
                503,
                "unavailable",
                "the service cannot reach its database right now: try again in a few seconds",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        error_log.exception("unhandled error", extra={"request_id": request.get(request_id_key)})
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")


@web.middleware
async def cors_and_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    allowed = origin is not None and origin in runtime(request).settings.allowed_origins
    public = request.path.startswith(CORS_PATHS) or request.path in ("/widget.js", "/count.js")
    if request.method == "OPTIONS" and origin is not None and public:
        response: web.StreamResponse = web.Response(status=204)
        if allowed:
            response.headers.update(
                {
                    "Access-Control-Allow-Methods": "GET, POST",
                    "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key, If-None-Match",
                    "Access-Control-Max-Age": "600",
                }
            )
    else:
        response = await handler(request)
    if allowed and public:
        response.headers["Access-Control-Allow-Origin"] = origin or ""
        response.headers["Access-Control-Expose-Headers"] = "ETag, Retry-After, X-Request-Id"
    if public:
        response.headers.add("Vary", "Origin")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", HTML_POLICY)
    return response
