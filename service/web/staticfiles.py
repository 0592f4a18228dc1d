"""Files shipped with the service: content-hash ETags, gzip when accepted, a 304 for a held ETag, reread when edited."""

from __future__ import annotations

import functools
import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from service.web.requests import accepts


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file in both encodings, each with its own strong ETag (RFC 9110: a validator names a representation)."""

    plain: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int, size: int) -> StaticFile:
    # Keyed on the file's time and size so an edited file is served without a restart; in production it never changes.
    plain = path.read_bytes()
    digest = hashlib.sha256(plain).hexdigest()[:32]
    return StaticFile(
        plain=plain, gzipped=gzip.compress(plain, 9, mtime=0), etag=f'"{digest}"', gzip_etag=f'"{digest}-gz"'
    )


def load(path: Path) -> StaticFile:
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


def accepts_gzip(accept_encoding: str) -> bool:
    return accepts(accept_encoding, "gzip", "*")


def _matched(if_none_match: str, selected: str) -> bool:
    """Weak comparison against the ETag of the representation being served: another encoding's ETag is another
    representation, so it never earns a 304 (a cache would otherwise reuse gzip bytes for an identity request)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or selected in tags


def serve(
    request: web.Request,
    path: Path,
    content_type: str,
    *,
    cache_control: str,
    extra_headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The file at `path`, gzipped when the client accepts it, with a 304 for the ETag it already holds."""
    file = load(path)
    compressed = accepts_gzip(request.headers.get("Accept-Encoding", "")) and len(file.gzipped) < len(file.plain)
    etag = file.gzip_etag if compressed else file.etag
    headers = {"Cache-Control": cache_control, "ETag": etag, "Vary": "Accept-Encoding", **(extra_headers or {})}
    if _matched(request.headers.get("If-None-Match", ""), etag):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = content_type
    if compressed:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=file.gzipped if compressed else file.plain, headers=headers)
