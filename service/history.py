"""The log as auditors read it: filtered pages and streams in position order, event views, a comment's past state."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.codec import encode
from service.crypto import Vault
from service.db import iso, utc
from service.events import (
    ArticleSettingsChanged,
    CommentEvent,
    CommentHidden,
    CommentRejected,
    SubjectErased,
    article_stream,
)
from service.eventstore import RecordedEvent
from service.moderation import fold
from service.tables import events

BATCH = 500


def event_view(item: RecordedEvent) -> dict[str, Any]:
    """An event as auditors see it: its place in the log, who and what request made it, and its fields.

    Personal fields are decrypted while the subject's key exists; after an erasure only the public ones remain.
    """
    _kind, _version, data, personal = encode(item.event)
    return {
        "position": item.position,
        "event_id": str(item.event_id),
        "stream_id": item.stream_id,
        "stream_version": item.stream_version,
        "type": item.type,
        "schema_version": item.schema_version,
        "actor": item.actor,
        "recorded_at": iso(item.recorded_at),
        "request_id": item.meta.get("request_id") or None,
        # A moderator's address hash is in the meta; a reader's is sealed with the reader's data (None once erased).
        "client_hash": item.meta.get("client") or getattr(item.event, "client_hash", None),
        "data": {**data, **(personal or {})} if item.pii_readable else data,
        "personal_data": "readable" if item.pii_readable else "erased",
        "hash": item.hash,
        "prev_hash": item.prev_hash,
    }


def ndjson_line(item: RecordedEvent) -> bytes:
    """One event of an export: its view as compact JSON (UTF-8, not escaped) and a newline."""
    return json.dumps(event_view(item), ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogFilter:
    """Which events: of these types, by this actor, about this article, recorded in [since, until)."""

    types: tuple[str, ...] = ()
    actor: str | None = None
    article_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.types:
            where.append(events.c.type.in_(self.types))
        if self.actor is not None:
            where.append(events.c.actor == self.actor)
        if self.since is not None:
            where.append(events.c.recorded_at >= utc(self.since))
        if self.until is not None:
            where.append(events.c.recorded_at < utc(self.until))
        if self.article_id is not None:
            # Only a submission names the article; the log itself (not a read model) says which comments are its.
            submitted = sa.select(events.c.stream_id).where(
                events.c.type == "CommentSubmitted", events.c.data["article_id"].as_string() == self.article_id
            )
            where.append(
                sa.or_(events.c.stream_id.in_(submitted), events.c.stream_id == article_stream(self.article_id))
            )
        return where


async def page(
    conn: AsyncConnection,
    vault: Vault,
    selection: LogFilter,
    *,
    after: int = 0,
    limit: int = BATCH,
    upto: int | None = None,
) -> list[RecordedEvent]:
    """Up to `limit` matching events after position `after` (and at most `upto`), in position order."""
    statement = sa.select(events).where(events.c.position > after, *selection.conditions())
    if upto is not None:
        statement = statement.where(events.c.position <= upto)
    rows = (await conn.execute(statement.order_by(events.c.position).limit(limit))).all()
    # A fresh vault session per batch: the unwrapped-key cache stays as small as one batch however long the log.
    return await eventstore._decode_rows(conn, vault.session(), rows)


async def batches(
    conn: AsyncConnection,
    vault: Vault,
    selection: LogFilter,
    *,
    after: int = 0,
    upto: int | None = None,
) -> AsyncIterator[list[RecordedEvent]]:
    """Every matching event, a batch at a time (a keyset loop: constant memory), up to `upto` or the current head.

    Positions are gapless and in commit order, so the events up to that head are a fixed prefix of the log: the
    stream is one consistent snapshot even while writers append.
    """
    if upto is None:
        upto, _hash = await eventstore.head(conn)
    batch = BATCH
    while True:
        found = await page(conn, vault, selection, after=after, limit=batch, upto=upto)
        if found:
            yield found
        if len(found) < batch:
            return
        after = found[-1].position


def _decision_view(item: RecordedEvent) -> dict[str, Any]:
    event = item.event
    return {
        "position": item.position,
        "type": item.type,
        "actor": item.actor,
        "recorded_at": iso(item.recorded_at),
        "request_id": item.meta.get("request_id") or None,
        "client_hash": item.meta.get("client") or None,
        "reason_code": getattr(event, "reason_code", None),
        "note": getattr(event, "note", None),
    }


def state_at(history: Sequence[RecordedEvent], at: datetime) -> dict[str, Any] | None:
    """The comment as it stood at `at`, folded from the events recorded at or before it; None if not yet submitted.

    `last_decision` is the latest moderator event by then: who decided, when, in which request, and why.
    """
    moment = utc(at)
    seen = [item for item in history if item.recorded_at <= moment]
    comment_events: list[CommentEvent] = [
        item.event for item in seen if not isinstance(item.event, ArticleSettingsChanged | SubjectErased)
    ]
    if not comment_events:
        return None
    state = fold(comment_events)
    decisions = [item for item in seen if item.actor.startswith("moderator:")]
    last = decisions[-1] if decisions else None
    # The reason of the rejection or hiding that put it in its status (a later edit keeps the status and reason).
    removals = [item.event for item in seen if isinstance(item.event, CommentRejected | CommentHidden)]
    reason = removals[-1].reason_code if removals else None
    return {
        "at": iso(moment),
        "status": state.status.value,
        "visible": state.visible,
        "title": state.title,
        "body": state.body,
        "version": state.version,
        "reason_code": reason if state.status.value in ("rejected", "hidden") else None,
        "last_decision": None if last is None else _decision_view(last),
    }
