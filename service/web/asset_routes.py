"""The readers' scripts, /widget.js and /count.js: content-hash ETags, five-minute caching, gzip when accepted."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from service.web import staticfiles

routes = web.RouteTableDef()

STATIC = Path(__file__).parent / "static"
SCRIPT_TYPE = "application/javascript; charset=utf-8"
# Short: a fixed widget reaches every reader within five minutes; the ETag makes each revalidation a 304.
CACHE_CONTROL = "public, max-age=300"
# Embedded on other sites, including ones that require CORP for their subresources.
HEADERS = {"Cross-Origin-Resource-Policy": "cross-origin"}


def serve(request: web.Request, name: str) -> web.Response:
    # A client (or a cache) holding either encoding of the script revalidates with a 304.
    return staticfiles.serve(request, STATIC / name, SCRIPT_TYPE, cache_control=CACHE_CONTROL, extra_headers=HEADERS)


@routes.get("/widget.js")
async def widget_script(request: web.Request) -> web.Response:
    return serve(request, "widget.js")


@routes.get("/count.js")
async def count_script(request: web.Request) -> web.Response:
    return serve(request, "count.js")
