"""What handlers read off a request besides its body: path ids, the idempotency key, the client, the event meta."""

from __future__ import annotations

import re
import uuid

from aiohttp import web

from service.events import ARTICLE_ID
from service.web.errors import ApiError, not_found
from service.web.runtime import request_id_key, runtime

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")
REFUSED = ("q=0", "q=0.0", "q=0.00", "q=0.000")


def article_id_of(request: web.Request) -> str:
    article_id = request.match_info["article_id"]
    if not ARTICLE_ID.fullmatch(article_id):
        raise not_found("no such article: an article id is 1-120 letters, digits, '.', '_', ':' or '-'")
    return article_id


def comment_id_of(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["comment_id"])
    except ValueError:
        raise not_found("no such comment") from None


def idempotency_key_of(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key is 1-100 printable ASCII characters")
    return key


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def request_meta(request: web.Request, *, reader: bool = False) -> dict[str, str]:
    """Who did it, in the clear part of the event. A reader's address hash is personal data: it travels sealed in
    the event's `pii` instead (and is shredded with the reader's key); a moderator's stays here, for the audit."""
    meta = {"request_id": request.get(request_id_key, "")}
    if not reader:
        meta["client"] = runtime(request).keyring.client_hash(client_address(request))
    return meta


def accepts(header: str, *wanted: str) -> bool:
    """Whether an Accept or Accept-Encoding header takes one of `wanted` (lower case): the first listed match
    decides, and `q=0` refuses it."""
    for item in header.lower().split(","):
        value, _, params = item.strip().partition(";")
        if value.strip() in wanted:
            return params.replace(" ", "") not in REFUSED
    return False
