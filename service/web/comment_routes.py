"""Readers' comment endpoints: submitting and reporting comments, the published lists and counts."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from service import published, submissions, text
from service.application import Outcome
from service.events import ARTICLE_ID, REPORT_REASONS, CommentSubmitted
from service.web.errors import json_response, validation_failed
from service.web.jsonio import Fields, query_int, read_object
from service.web.requests import article_id_of, client_address, comment_id_of, idempotency_key_of, request_meta
from service.web.runtime import runtime

routes = web.RouteTableDef()
# A CDN may go on serving a public read this long past s-maxage while it fetches a fresh copy in the background.
STALE_WHILE_REVALIDATE_SECONDS = 30


def public_cache_control(cdn_max_age: int) -> str:
    """Browsers always revalidate (max-age=0, with the ETag); a shared cache may answer for `cdn_max_age` seconds."""
    if cdn_max_age <= 0:
        return "no-cache"
    return f"public, max-age=0, s-maxage={cdn_max_age}, stale-while-revalidate={STALE_WHILE_REVALIDATE_SECONDS}"


def _submission_view(outcome: Outcome) -> dict[str, Any]:
    first = outcome.recorded[0]
    event = first.event
    assert isinstance(event, CommentSubmitted)
    return {
        "id": str(event.comment_id),
        "status": "published" if event.visible else "pending",
        "version": first.stream_version,
    }


def _parse_submission(document: dict[str, Any], article_id: str) -> submissions.Submission:
    fields = Fields(document)
    author_name = fields.line("author_name", text.AUTHOR_NAME_MAX_LEN)
    title = fields.line("title", text.TITLE_MAX_LEN)
    body = fields.body("body", text.BODY_MAX_LEN)
    phone: str | None = None
    raw_phone = document.get("phone")
    if raw_phone is not None and not isinstance(raw_phone, str):
        fields.fail("phone", "must_be_string")
    elif isinstance(raw_phone, str) and raw_phone.strip():
        try:
            phone = text.normalize_phone(raw_phone)
        except text.FieldError as error:
            fields.fail("phone", error.code)
    parent_id: uuid.UUID | None = None
    raw_parent = document.get("parent_id")
    if raw_parent is not None:
        try:
            parent_id = uuid.UUID(str(raw_parent))
        except ValueError:
            fields.fail("parent_id", "invalid")
    captcha_id = document.get("captcha_id")
    captcha_answer = document.get("captcha_answer")
    if not isinstance(captcha_id, str) or not captcha_id:
        fields.fail("captcha_id", "required")
    if not isinstance(captcha_answer, str) or not captcha_answer.strip():
        fields.fail("captcha_answer", "required")
    # The honeypot: a field people never see (the widget hides it); bots fill every input they find.
    website = document.get("website")
    if website not in (None, ""):
        fields.fail("website", "must_be_empty")
    fields.check()
    return submissions.Submission(
        article_id=article_id,
        author_name=author_name,
        phone=phone,
        title=title,
        body=body,
        parent_id=parent_id,
        captcha_id=str(captcha_id),
        captcha_answer=str(captcha_answer),
    )


@routes.post("/api/v1/articles/{article_id}/comments")
async def submit_comment(request: web.Request) -> web.Response:
    rt = runtime(request)
    article_id = article_id_of(request)
    document = await read_object(request)
    key = idempotency_key_of(request)
    submission = _parse_submission(document, article_id)
    # Refusals (429, 422 captcha_invalid, 409 article_closed, 422 for a bad parent) come from the error middleware.
    outcome = await submissions.submit(
        rt,
        submission,
        client_address=client_address(request),
        meta=request_meta(request, reader=True),
        idempotency_key=key,
    )
    if not outcome.replayed:  # a retried request appended nothing
        rt.metrics.appended("CommentSubmitted")
    return json_response(_submission_view(outcome), status=202)


@routes.get("/api/v1/articles/{article_id}/comments")
async def list_comments(request: web.Request) -> web.Response:
    rt = runtime(request)
    article_id = article_id_of(request)
    page = query_int(request, "page", 1, 1, 100_000)
    per_page = query_int(request, "per_page", 20, 1, 100)
    raw_order = request.query.get("order", "oldest")
    if raw_order not in published.ORDERS:
        raise validation_failed({"order": "invalid_choice"}, "order is oldest or newest")
    order: published.Order = "oldest" if raw_order == "oldest" else "newest"
    query = published.PageQuery(article_id, page, per_page, order)
    if_none_match = request.headers.get("If-None-Match", "")
    found = await published.page(rt.db, rt.changes, rt.pages, query, if_none_match=if_none_match)
    headers = {"ETag": found.etag, "Cache-Control": public_cache_control(rt.settings.cdn_max_age)}
    if found.body is None:
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, content_type="application/json", charset="utf-8", headers=headers)


@routes.get("/api/v1/counts")
async def counts(request: web.Request) -> web.Response:
    named = request.query.getall("article_id", [])
    wanted = list(dict.fromkeys(named))
    if not wanted:
        raise validation_failed({"article_id": "required"}, "name at least one article_id")
    if len(named) > published.MAX_COUNT_ARTICLES:  # repeats count: the spec's maxItems is on the list as sent
        raise validation_failed(
            {"article_id": "too_many"}, f"at most {published.MAX_COUNT_ARTICLES} articles per request"
        )
    if any(not ARTICLE_ID.fullmatch(article_id) for article_id in wanted):
        raise validation_failed({"article_id": "invalid"})
    rt = runtime(request)
    headers = {"Cache-Control": public_cache_control(rt.settings.cdn_max_age)}
    return json_response({"counts": await published.counts(rt.changes, wanted)}, headers=headers)


@routes.post("/api/v1/comments/{comment_id}/reports")
async def report_comment(request: web.Request) -> web.Response:
    rt = runtime(request)
    comment_id = comment_id_of(request)
    fields = Fields(await read_object(request))
    reason = fields.choice("reason", REPORT_REASONS)
    fields.check()
    assert reason is not None
    # An unpublished comment is CommentNotFound: 404 from the error middleware, no hint that it exists.
    outcome = await submissions.report(
        rt, comment_id, reason, client_address=client_address(request), meta=request_meta(request, reader=True)
    )
    rt.metrics.appended("CommentReported")
    return json_response({"id": str(comment_id), "reported": True, "version": outcome.version}, status=202)
