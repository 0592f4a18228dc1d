"""Admins' erasure endpoint: a reader's phone number in, their personal data crypto-shredded everywhere."""

from __future__ import annotations

from aiohttp import web

from service import privacy, text
from service.web.access import require
from service.web.errors import json_response, validation_failed
from service.web.jsonio import read_object
from service.web.requests import request_meta
from service.web.runtime import runtime

routes = web.RouteTableDef()


@routes.post("/api/v1/moderation/erasures")
async def erase(request: web.Request) -> web.Response:
    """Erase the subject of `phone`: 202 with how many comments lost their personal data (0 when none was held).

    `subject_id` is null when the number has no subject: never seen, or erased before.
    """
    principal = await require(request, "admin")
    rt = runtime(request)
    raw = (await read_object(request)).get("phone")
    if not isinstance(raw, str):
        raise validation_failed({"phone": "required" if raw is None else "must_be_string"})
    try:
        erasure = await privacy.erase_phone(
            rt.db,
            rt.vault,
            raw,
            requested_by=f"moderator:{principal.name}",
            now=rt.clock(),
            meta=request_meta(request),
        )
    except text.FieldError as error:
        raise validation_failed({"phone": error.code}, "phone is a Vietnamese number, e.g. 0912 345 678") from None
    # The number itself is never echoed: the subject id is what the log's SubjectErased event names.
    body = {"subject_id": erasure.subject_id, "erased": erasure.erased, "comments": erasure.comments}
    return json_response(body, status=202)
