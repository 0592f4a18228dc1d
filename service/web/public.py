"""Readers' endpoints: CAPTCHA challenges, submitting and reporting comments, the published lists and counts."""

from __future__ import annotations

import asyncio
import re
import uuid
import zlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from service import captcha, flags, ratelimit, subjects, text
from service.application import Outcome, handle, idempotency_scope, idempotent_event_id, replay
from service.commands import ReportComment, SubmitComment
from service.crypto import comment_subject
from service.db import utc
from service.events import ARTICLE_ID, REPORT_REASONS, CommentSubmitted
from service.tables import articles, moderation_queue, published_comments
from service.web.errors import ApiError, json_response, not_found, utf8_dumps, validation_failed
from service.web.jsonio import Fields, query_int, read_object
from service.web.runtime import Runtime, request_id_key, runtime

routes = web.RouteTableDef()

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")
MAX_COUNT_ARTICLES = 100
DUPLICATE_WAIT_SECONDS = 5.0


def iso(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


# --- CAPTCHA --------------------------------------------------------------------------------------------------


@routes.post("/api/v1/captchas")
async def create_captcha(request: web.Request) -> web.Response:
    rt = runtime(request)
    now = rt.clock()
    async with rt.db.write() as conn:
        # Each challenge is a row and a render: bounded per address like submissions, with room for "get a new code".
        bucket = f"captcha:client:{rt.keyring.client_hash(client_address(request))}"
        if retry_after := await ratelimit.hit(conn, bucket, rt.settings.captcha_rate_limit, now):
            await conn.commit()
            raise ApiError(
                429, "rate_limited", "too many new codes in a short time", headers={"Retry-After": str(retry_after)}
            )
        challenge = await captcha.issue(
            conn,
            secret=rt.keyring.captcha,
            now=now,
            ttl=timedelta(seconds=rt.settings.captcha_ttl_seconds),
            test_answer=rt.settings.captcha_test_answer,
        )
    base = f"/api/v1/captchas/{challenge.id}"
    body = {
        "id": challenge.id,
        "image_url": f"{base}/image.png",
        "audio_url": f"{base}/audio.wav",
        "expires_at": iso(challenge.expires_at),
    }
    return json_response(body, status=201, headers={"Cache-Control": "no-store"})


async def _render(request: web.Request, kind: str) -> web.Response:
    rt = runtime(request)
    challenge_id = request.match_info["captcha_id"]
    async with rt.db.read() as conn:
        challenge = await captcha.get_live(conn, challenge_id, rt.clock())
    if challenge is None:
        raise not_found("this code has expired or was used: ask for a new one")
    answer = captcha.answer_for(rt.keyring.captcha, challenge.id, rt.settings.captcha_test_answer)
    loop = asyncio.get_running_loop()
    if kind == "png":
        payload = await loop.run_in_executor(rt.renderer, captcha.render_png, answer)
        content_type = "image/png"
    else:
        payload = await loop.run_in_executor(rt.renderer, captcha.render_wav, answer)
        content_type = "audio/wav"
    return web.Response(body=payload, content_type=content_type, headers={"Cache-Control": "no-store"})


@routes.get("/api/v1/captchas/{captcha_id}/image.png")
async def captcha_image(request: web.Request) -> web.Response:
    return await _render(request, "png")


@routes.get("/api/v1/captchas/{captcha_id}/audio.wav")
async def captcha_audio(request: web.Request) -> web.Response:
    return await _render(request, "wav")


# --- submitting -----------------------------------------------------------------------------------------------


def _submission_view(outcome: Outcome) -> dict[str, Any]:
    first = outcome.recorded[0]
    event = first.event
    assert isinstance(event, CommentSubmitted)
    return {
        "id": str(event.comment_id),
        "status": "published" if event.visible else "pending",
        "version": first.stream_version,
    }


def _parse_submission(document: dict[str, Any], article_id: str) -> tuple[dict[str, Any], str, str]:
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
    values = {
        "article_id": article_id,
        "author_name": author_name,
        "phone": phone,
        "title": title,
        "body": body,
        "parent_id": parent_id,
    }
    return values, str(captcha_id), str(captcha_answer)


async def _replayed(rt: Runtime, event_id: uuid.UUID) -> Outcome | None:
    async with rt.db.read() as conn:
        return await replay(conn, rt.vault.session(), event_id)


async def _check_limits(rt: Runtime, request: web.Request, article_id: str, captcha_id: str) -> None:
    now = rt.clock()
    address = client_address(request)
    async with rt.db.write() as conn:
        challenge = await captcha.get_live(conn, captcha_id, now)
        if challenge is not None and rt.settings.min_submit_seconds > 0:
            ready_at = challenge.created_at + timedelta(seconds=rt.settings.min_submit_seconds)
            if now < ready_at:
                wait = max(1, int((ready_at - now).total_seconds() + 0.999))
                raise ApiError(
                    429,
                    "rate_limited",
                    "that was faster than a person types: wait a moment and send again",
                    headers={"Retry-After": str(wait)},
                )
        for bucket, limit in (
            (f"submit:client:{rt.keyring.client_hash(address)}", rt.settings.rate_limit),
            (f"submit:article:{article_id}", rt.settings.article_rate_limit),
        ):
            retry_after = await ratelimit.hit(conn, bucket, limit, now)
            if retry_after:
                # Commit the counted hit, then refuse: the transaction context ends before the raise propagates.
                await conn.commit()
                raise ApiError(
                    429,
                    "rate_limited",
                    "too many comments in a short time: please wait a little",
                    headers={"Retry-After": str(retry_after)},
                )


@routes.post("/api/v1/articles/{article_id}/comments")
async def submit_comment(request: web.Request) -> web.Response:
    rt = runtime(request)
    article_id = article_id_of(request)
    document = await read_object(request)
    key = idempotency_key_of(request)
    values, captcha_id, captcha_answer = _parse_submission(document, article_id)
    comment_id = uuid.uuid4()
    phone = values["phone"]
    # A phone reader's subject is random, resolved through its lookup row by subjects.submit() below.
    subject_id = subjects.UNRESOLVED if phone else comment_subject(comment_id)
    client_hash = rt.keyring.client_hash(client_address(request))
    command = SubmitComment(
        comment_id=comment_id,
        subject_id=subject_id,
        client_hash=client_hash,
        default_moderation=rt.settings.moderation.value,
        **values,
    )
    event_id = None if key is None else idempotent_event_id(idempotency_scope(command), key)
    if event_id is not None and (previous := await _replayed(rt, event_id)) is not None:
        return json_response(_submission_view(previous), status=202)

    await _check_limits(rt, request, article_id, captcha_id)
    async with rt.db.write() as conn:
        verdict = await captcha.verify(
            conn,
            secret=rt.keyring.captcha,
            challenge_id=captcha_id,
            attempt=captcha_answer,
            now=rt.clock(),
            consumer=key,
        )
    if verdict is captcha.VerifyOutcome.DUPLICATE and event_id is not None:
        # The same request is in flight in another connection (a double click): answer what it answers.
        for _ in range(int(DUPLICATE_WAIT_SECONDS / 0.05)):
            if (previous := await _replayed(rt, event_id)) is not None:
                return json_response(_submission_view(previous), status=202)
            await asyncio.sleep(0.05)
    if verdict is not captcha.VerifyOutcome.OK:
        raise ApiError(422, "captcha_invalid", "the security code is wrong or no longer valid: type the new code shown")

    async def screened(resolved: SubmitComment) -> SubmitComment:
        # Screening reads the author's history: only for submissions past the limits and the CAPTCHA.
        screening = rt.screener.screen(
            author_name=values["author_name"],
            title=values["title"],
            body=values["body"],
            recent_bodies=await _recent_bodies(rt, resolved.subject_id if phone else None, client_hash),
        )
        return replace(resolved, held=screening.held, flags=screening.flags)

    # A closed article (409 article_closed) or a bad parent (422) is answered by the error middleware.
    outcome = await subjects.submit(
        rt.db,
        rt.vault,
        command,
        now=rt.clock(),
        meta=_meta(request, reader=True),
        idempotency_key=key,
        prepare=screened,
    )
    rt.metrics.appended("CommentSubmitted")
    return json_response(_submission_view(outcome), status=202)


async def _recent_bodies(rt: Runtime, subject_id: str | None, client_hash: str) -> list[str]:
    """The same author's latest bodies (same phone, else same address), for the repeated-text flag."""
    q = moderation_queue
    same = q.c.subject_id == subject_id if subject_id is not None else q.c.client_hash == client_hash
    async with rt.db.read() as conn:
        rows = await conn.execute(
            sa.select(q.c.body).where(same).order_by(q.c.submitted_at.desc()).limit(flags.RECENT_BODIES_MAX)
        )
        return [str(body) for body in rows.scalars()]


def _meta(request: web.Request, *, reader: bool = False) -> dict[str, str]:
    """Who did it, in the clear part of the event. A reader's address hash is personal data: it travels sealed in
    the event's `pii` instead (and is shredded with the reader's key); a moderator's stays here, for the audit."""
    meta = {"request_id": request.get(request_id_key, "")}
    if not reader:
        meta["client"] = runtime(request).keyring.client_hash(client_address(request))
    return meta


# --- reading --------------------------------------------------------------------------------------------------


def _etag(article_id: str, changed_position: int, query: tuple[object, ...]) -> str:
    # Stable across processes (a load balancer may send the revalidation elsewhere): no salted hash().
    detail = "-".join(str(part) for part in query)
    return f'W/"{changed_position}-{detail}-{zlib.crc32(article_id.encode()):08x}"'


@routes.get("/api/v1/articles/{article_id}/comments")
async def list_comments(request: web.Request) -> web.Response:
    rt = runtime(request)
    article_id = article_id_of(request)
    page = query_int(request, "page", 1, 1, 100_000)
    per_page = query_int(request, "per_page", 20, 1, 100)
    order = request.query.get("order", "oldest")
    if order not in ("oldest", "newest"):
        raise validation_failed({"order": "invalid_choice"}, "order is oldest or newest")
    async with rt.db.read() as conn:
        article = (
            await conn.execute(
                sa.select(articles.c.published_count, articles.c.changed_position, articles.c.closed).where(
                    articles.c.article_id == article_id
                )
            )
        ).first()
        changed = int(article.changed_position) if article else 0
        etag = _etag(article_id, changed, (page, per_page, order))
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        key = (article_id, changed, page, per_page, order)
        if (cached := rt.pages.get(key)) is not None:
            return web.Response(body=cached, content_type="application/json", charset="utf-8", headers=headers)
        total = int(article.published_count) if article else 0
        position = published_comments.c.position
        rows = (
            await conn.execute(
                sa.select(published_comments)
                .where(published_comments.c.article_id == article_id)
                .order_by(position if order == "oldest" else position.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        ).all()
    items = [
        {
            "id": str(row.comment_id),
            "parent_id": None if row.parent_id is None else str(row.parent_id),
            "author_name": row.author_name,
            "title": row.title,
            "body": row.body,
            "published_at": iso(row.published_at),
        }
        for row in rows
    ]
    closed = bool(article.closed) if article else False
    body = {
        "article_id": article_id,
        "total": total,
        "closed": closed,
        "page": page,
        "per_page": per_page,
        "items": items,
    }
    rendered = utf8_dumps(body).encode("utf-8")
    rt.pages.put(key, rendered)
    return web.Response(body=rendered, content_type="application/json", charset="utf-8", headers=headers)


@routes.get("/api/v1/counts")
async def counts(request: web.Request) -> web.Response:
    rt = runtime(request)
    wanted = list(dict.fromkeys(request.query.getall("article_id", [])))
    if not wanted:
        raise validation_failed({"article_id": "required"}, "name at least one article_id")
    if len(wanted) > MAX_COUNT_ARTICLES:
        raise validation_failed({"article_id": "too_many"}, f"at most {MAX_COUNT_ARTICLES} articles per request")
    if any(not ARTICLE_ID.fullmatch(article_id) for article_id in wanted):
        raise validation_failed({"article_id": "invalid"})
    async with rt.db.read() as conn:
        rows = await conn.execute(
            sa.select(articles.c.article_id, articles.c.published_count).where(articles.c.article_id.in_(wanted))
        )
        found = {row.article_id: int(row.published_count) for row in rows}
    return json_response({"counts": {article_id: found.get(article_id, 0) for article_id in wanted}})


@routes.post("/api/v1/comments/{comment_id}/reports")
async def report_comment(request: web.Request) -> web.Response:
    rt = runtime(request)
    comment_id = comment_id_of(request)
    document = await read_object(request)
    fields = Fields(document)
    reason = fields.choice("reason", REPORT_REASONS)
    fields.check()
    assert reason is not None
    address_hash = rt.keyring.client_hash(client_address(request))
    async with rt.db.write() as conn:
        retry_after = await ratelimit.hit(
            conn, f"report:client:{address_hash}", rt.settings.report_rate_limit, rt.clock()
        )
    if retry_after:
        raise ApiError(
            429, "rate_limited", "too many reports in a short time", headers={"Retry-After": str(retry_after)}
        )
    command = ReportComment(comment_id=comment_id, reason=reason, reporter_hash=address_hash)
    # An unpublished comment is CommentNotFound: 404 from the error middleware, no hint that it exists.
    outcome = await handle(rt.db, rt.vault, command, now=rt.clock(), meta=_meta(request, reader=True))
    rt.metrics.appended("CommentReported")
    return json_response({"id": str(comment_id), "reported": True, "version": outcome.version}, status=202)
