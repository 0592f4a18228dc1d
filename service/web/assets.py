"""The readers' scripts, /widget.js and /count.js: content-hash ETags, five-minute caching, gzip when accepted."""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

routes = web.RouteTableDef()

STATIC = Path(__file__).parent / "static"
SCRIPT_TYPE = "application/javascript; charset=utf-8"
# Short: a fixed widget reaches every reader within five minutes; the ETag makes each revalidation a 304.
CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True, slots=True)
class Asset:
    """One file in both encodings, each with its own strong ETag (RFC 9110: a validator names a representation)."""

    plain: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int, size: int) -> Asset:
    # Keyed on the file's time and size so an edited file is served without a restart; in production it never changes.
    plain = path.read_bytes()
    digest = hashlib.sha256(plain).hexdigest()[:32]
    return Asset(plain=plain, gzipped=gzip.compress(plain, 9, mtime=0), etag=f'"{digest}"', gzip_etag=f'"{digest}-gz"')


def asset(name: str) -> Asset:
    path = STATIC / name
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


def accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _matched(if_none_match: str, script: Asset, selected: str) -> str | None:
    """The ETag to answer 304 with, if the client holds either encoding of this file (weak comparison)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if "*" in tags or selected in tags:
        return selected
    return next((etag for etag in (script.etag, script.gzip_etag) if etag in tags), None)


def serve(request: web.Request, name: str) -> web.Response:
    script = asset(name)
    compressed = accepts_gzip(request.headers.get("Accept-Encoding", "")) and len(script.gzipped) < len(script.plain)
    etag = script.gzip_etag if compressed else script.etag
    headers = {
        "Cache-Control": CACHE_CONTROL,
        "ETag": etag,
        "Vary": "Accept-Encoding",
        # Embedded on other sites, including ones that require CORP for their subresources.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    matched = _matched(request.headers.get("If-None-Match", ""), script, etag)
    if matched is not None:
        return web.Response(status=304, headers={**headers, "ETag": matched})
    headers["Content-Type"] = SCRIPT_TYPE
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=script.gzipped if compressed else script.plain, headers=headers)


@routes.get("/widget.js")
async def widget_script(request: web.Request) -> web.Response:
    return serve(request, "widget.js")


@routes.get("/count.js")
async def count_script(request: web.Request) -> web.Response:
    return serve(request, "count.js")
