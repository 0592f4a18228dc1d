"""The readers' write use cases: submitting a comment (limits, CAPTCHA, screening, subject) and reporting one.

A submission costs, in order: an idempotent replay check (a read, with an Idempotency-Key), the time and rate
limits and the CAPTCHA (consumed, right or wrong) in one write transaction, the phone's subject and the author's
recent comments for screening (reads), then the append through `application.handle`, which a busy process
shares with the commands arriving with it (group commit). The cheap refusals come first, so a flood of bad
requests never reaches screening or the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import application, captcha, flags, ratelimit, subjects
from service.application import Outcome, handle, idempotency_scope, idempotent_event_id, replay
from service.commands import ReportComment, SubmitComment
from service.crypto import Vault, comment_subject
from service.db import Database
from service.moderation import DomainError
from service.ratelimit import RateLimited
from service.runtime import Runtime
from service.subjects import SubjectMoved
from service.tables import moderation_queue

DUPLICATE_WAIT_SECONDS = 5.0
Prepare = Callable[[SubmitComment], Awaitable[SubmitComment]]


class CaptchaInvalid(DomainError):
    """Wrong, expired, used or unknown: one refusal, so that nobody learns which."""

    code = "captcha_invalid"


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """A reader's comment as parsed and cleaned from the form (NFC text, phone as +84…)."""

    article_id: str
    author_name: str
    title: str
    body: str
    captcha_id: str
    captcha_answer: str
    phone: str | None = None
    parent_id: UUID | None = None


async def submit(
    rt: Runtime,
    submission: Submission,
    *,
    client_address: str,
    meta: Mapping[str, Any],
    idempotency_key: str | None = None,
) -> Outcome:
    """Record a reader's comment, or raise: RateLimited, CaptchaInvalid, or the domain's refusals (ArticleClosed,
    InvalidField for a bad parent). A retry with the same idempotency key answers what the first one did."""
    client_hash = rt.keyring.client_hash(client_address)
    comment_id = uuid4()
    command = SubmitComment(
        comment_id=comment_id,
        # A phone reader's subject is random, resolved through its lookup row by record() below.
        subject_id=subjects.UNRESOLVED if submission.phone else comment_subject(comment_id),
        client_hash=client_hash,
        default_moderation=rt.settings.moderation.value,
        article_id=submission.article_id,
        author_name=submission.author_name,
        phone=submission.phone,
        title=submission.title,
        body=submission.body,
        parent_id=submission.parent_id,
    )
    event_id = None if idempotency_key is None else idempotent_event_id(idempotency_scope(command), idempotency_key)
    if event_id is not None and (previous := await _replayed(rt, event_id)) is not None:
        return previous

    now = rt.clock()

    async def gate(conn: AsyncConnection) -> captcha.VerifyOutcome | RateLimited:
        # One transaction for the limits and the CAPTCHA, shared with the writes around it (application.transact):
        # a limit's refusal is returned, so its counted hit commits and the CAPTCHA stays unused; past the limits
        # the CAPTCHA is consumed, right or wrong, whatever follows.
        refusal = await _check_limits(conn, rt, now, submission.article_id, submission.captcha_id, client_hash)
        if refusal is not None:
            return refusal
        return await captcha.verify(
            conn,
            secret=rt.keyring.captcha,
            challenge_id=submission.captcha_id,
            attempt=submission.captcha_answer,
            now=now,
            consumer=idempotency_key,
        )

    verdict = await application.transact(rt.db, gate)
    if isinstance(verdict, RateLimited):
        raise verdict
    if verdict is captcha.VerifyOutcome.DUPLICATE and event_id is not None:
        # The same request is in flight in another connection (a double click): answer what it answers.
        for _ in range(int(DUPLICATE_WAIT_SECONDS / 0.05)):
            if (previous := await _replayed(rt, event_id)) is not None:
                return previous
            await asyncio.sleep(0.05)
    if verdict is not captcha.VerifyOutcome.OK:
        raise CaptchaInvalid("the security code is wrong or no longer valid: type the new code shown")

    async def screened(resolved: SubmitComment) -> SubmitComment:
        # Screening reads the author's history: only for submissions past the limits and the CAPTCHA.
        subject_id = resolved.subject_id if submission.phone else None
        screening = rt.screener.screen(
            author_name=submission.author_name,
            title=submission.title,
            body=submission.body,
            recent_bodies=await _recent_bodies(rt.db, subject_id, client_hash),
        )
        return replace(resolved, held=screening.held, flags=screening.flags)

    return await record(
        rt.db, rt.vault, command, now=rt.clock(), meta=meta, idempotency_key=idempotency_key, prepare=screened
    )


async def record(
    db: Database,
    vault: Vault,
    command: SubmitComment,
    *,
    now: datetime,
    meta: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    prepare: Prepare | None = None,
) -> Outcome:
    """Append a submission; a phone reader's subject is resolved here and claimed under the log's lock.

    The subject is read first (so `prepare`, e.g. screening against the author's recent comments, can use it), then
    handle()'s guard checks, in the append transaction, that the number still maps to it, creating the lookup row
    for a first submission. When it moved meanwhile, all of it runs again with the new answer. The seed records
    through here too; an import resolves a whole batch's numbers at once (subjects.claim_many).
    """
    if command.phone is None:
        ready = command if prepare is None else await prepare(command)
        return await handle(db, vault, ready, now=now, meta=meta, idempotency_key=idempotency_key)
    phone = command.phone
    for attempt in range(subjects.ATTEMPTS):
        existing = await subjects.lookup(db, vault.keyring, phone, now)
        subject_id = existing or subjects.new_phone_subject()
        ready = replace(command, subject_id=subject_id)
        if prepare is not None:
            ready = await prepare(ready)
        try:
            return await handle(
                db,
                vault,
                ready,
                now=now,
                meta=meta,
                idempotency_key=idempotency_key,
                guard=subjects.claim_guard(vault.keyring, phone, subject_id, now, fresh=existing is None),
            )
        except SubjectMoved:
            if attempt == subjects.ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def report(
    rt: Runtime, comment_id: UUID, reason: str, *, client_address: str, meta: Mapping[str, Any]
) -> Outcome:
    """A reader's report on a published comment; CommentNotFound for any other (no hint that it exists)."""
    address_hash = rt.keyring.client_hash(client_address)
    now = rt.clock()

    async def counted(conn: AsyncConnection) -> int:
        return await ratelimit.hit(conn, f"report:client:{address_hash}", rt.settings.report_rate_limit, now)

    retry_after = await application.transact(rt.db, counted)
    if retry_after:
        raise RateLimited("too many reports in a short time", retry_after)
    command = ReportComment(comment_id=comment_id, reason=reason, reporter_hash=address_hash)
    return await handle(rt.db, rt.vault, command, now=rt.clock(), meta=meta)


async def _replayed(rt: Runtime, event_id: UUID) -> Outcome | None:
    async with rt.db.read() as conn:
        return await replay(conn, rt.vault.session(), event_id)


async def _check_limits(
    conn: AsyncConnection, rt: Runtime, now: datetime, article_id: str, captcha_id: str, client_hash: str
) -> RateLimited | None:
    """The time and rate limits' refusal, or None; a hit is counted (and commits) even when it refuses."""
    if rt.settings.min_submit_seconds > 0:
        challenge = await captcha.get_live(conn, captcha_id, now)
        if challenge is not None:
            ready_at = challenge.created_at + timedelta(seconds=rt.settings.min_submit_seconds)
            if now < ready_at:
                wait = max(1, int((ready_at - now).total_seconds() + 0.999))
                return RateLimited("that was faster than a person types: wait a moment and send again", wait)
    for bucket, limit in (
        (f"submit:client:{client_hash}", rt.settings.rate_limit),
        (f"submit:article:{article_id}", rt.settings.article_rate_limit),
    ):
        retry_after = await ratelimit.hit(conn, bucket, limit, now)
        if retry_after:
            return RateLimited("too many comments in a short time: please wait a little", retry_after)
    return None


async def _recent_bodies(db: Database, subject_id: str | None, client_hash: str) -> list[str]:
    """The same author's latest bodies (same phone, else same address), for the repeated-text flag."""
    q = moderation_queue
    same = q.c.subject_id == subject_id if subject_id is not None else q.c.client_hash == client_hash
    async with db.read() as conn:
        rows = await conn.execute(
            sa.select(q.c.body).where(same).order_by(q.c.submitted_at.desc()).limit(flags.RECENT_BODIES_MAX)
        )
        return [str(body) for body in rows.scalars()]
