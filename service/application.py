"""One path for every write: load the stream, decide, append, project; all in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, projections
from service.commands import (
    ChangeArticleSettings,
    Command,
    CommentCommand,
    EraseSubject,
    SubmitComment,
)
from service.crypto import Vault, VaultSession, shred
from service.db import Database
from service.events import (
    ArticleSettingsChanged,
    CommentEvent,
    Event,
    SubjectErased,
    article_stream,
    comment_stream,
)
from service.eventstore import ConcurrencyError, RecordedEvent
from service.moderation import (
    Article,
    Comment,
    CommentNotFound,
    decide,
    decide_article,
    decide_submission,
    fold,
    fold_article,
)

Guard = Callable[[AsyncConnection], Awaitable[None]]
IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:comments-service:idempotency")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a command recorded; `replayed` when an earlier request with the same idempotency key did it.

    `state` is the comment after the command (None for other streams and for replays).
    """

    recorded: list[RecordedEvent]
    version: int
    replayed: bool = False
    state: Comment | None = field(default=None, compare=False)


def idempotent_event_id(scope: str, key: str) -> UUID:
    return uuid5(IDEMPOTENCY_NAMESPACE, f"{scope}\x1f{key}")


def idempotency_scope(command: Command) -> str:
    """Scope keys per target so one client's key cannot collide with another action's."""
    if isinstance(command, SubmitComment):
        return f"submit:{command.article_id}"
    return f"{type(command).__name__}:{command.stream}"


async def load_comment(conn: AsyncConnection, vault: VaultSession, comment_id: UUID) -> Comment:
    history = await eventstore.read_stream(conn, vault, comment_stream(comment_id))
    return fold(_comment_events(history))


def _comment_events(history: list[RecordedEvent]) -> list[CommentEvent]:
    return [item.event for item in history if not isinstance(item.event, ArticleSettingsChanged | SubjectErased)]


async def load_article(conn: AsyncConnection, vault: VaultSession, article_id: str) -> Article:
    history = await eventstore.read_stream(conn, vault, article_stream(article_id))
    return fold_article(item.event for item in history if isinstance(item.event, ArticleSettingsChanged))


async def handle(
    db: Database,
    vault: Vault,
    command: Command,
    *,
    now: datetime,
    meta: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    guard: Guard | None = None,
) -> Outcome:
    """Run one command. `guard` checks operational state (a moderator's lease) inside the same locked transaction."""
    event_id = None if idempotency_key is None else idempotent_event_id(idempotency_scope(command), idempotency_key)
    session = vault.session()
    async with db.write() as conn:
        # Take the log's lock before reading anything: load -> decide -> append is then one critical section on
        # PostgreSQL as on SQLite (BEGIN IMMEDIATE), so the state decide() judged is the state appended to, and
        # concurrent writes to one stream queue up instead of failing on a version they never chose.
        head = await eventstore.lock_head(conn)
        if guard is not None:
            await guard(conn)
        if event_id is not None:
            previous = await replay(conn, session, event_id)
            if previous is not None:
                return previous
        outcome = await _decide_and_append(conn, session, command, now=now, meta=meta, event_id=event_id, head=head)
        await projections.apply(conn, outcome.recorded)
        return outcome


async def replay(conn: AsyncConnection, session: VaultSession, event_id: UUID) -> Outcome | None:
    first = await eventstore.find_event(conn, session, event_id)
    if first is None:
        return None
    return Outcome(recorded=[first], version=first.stream_version, replayed=True)


async def _decide_and_append(
    conn: AsyncConnection,
    session: VaultSession,
    command: Command,
    *,
    now: datetime,
    meta: Mapping[str, Any] | None,
    event_id: UUID | None,
    head: tuple[int, str],
) -> Outcome:
    history = await eventstore.read_stream(conn, session, command.stream)
    version = history[-1].stream_version if history else 0
    if command.expected_version is not None and command.expected_version != version:
        raise ConcurrencyError(command.stream, command.expected_version, version)
    new_events: list[Event]
    subject_id: str | None = None
    state: Comment | None = None
    match command:
        case SubmitComment():
            if history:
                raise ConcurrencyError(command.stream, 0, version)
            article = await load_article(conn, session, command.article_id)
            parent = None if command.parent_id is None else await load_comment(conn, session, command.parent_id)
            new_events = list(decide_submission(article, parent, command))
        case ChangeArticleSettings():
            article_events = [item.event for item in history if isinstance(item.event, ArticleSettingsChanged)]
            new_events = list(decide_article(fold_article(article_events), command))
        case EraseSubject():
            await shred(conn, command.subject_id)
            session.forget(command.subject_id)
            new_events = [
                SubjectErased(subject_id=command.subject_id, requested_by=command.requested_by, reason=command.reason)
            ]
        case _:
            state = fold(_comment_events(history))
            if state.version == 0:
                raise CommentNotFound("no such comment")
            if not history[0].pii_readable:
                state = replace(state, erased=True)
            subject_id = state.subject_id
            new_events = list(decide(state, _as_comment_command(command)))
    recorded = await eventstore.append(
        conn,
        session,
        command.stream,
        new_events,
        expected_version=version,
        actor=command.actor,
        now=now,
        meta=meta,
        subject_id=subject_id,
        event_ids=None if event_id is None else [event_id, *_more_ids(event_id, len(new_events) - 1)],
        head=head,
    )
    final_version = recorded[-1].stream_version if recorded else version
    if isinstance(command, SubmitComment):
        state = fold(_comment_events(recorded))
    elif state is not None:
        state = fold(_comment_events(recorded), state)
    return Outcome(recorded=recorded, version=final_version, state=state)


def _as_comment_command(command: Command) -> CommentCommand:
    assert not isinstance(command, SubmitComment | ChangeArticleSettings | EraseSubject)
    return command


def _more_ids(first: UUID, count: int) -> list[UUID]:
    return [uuid5(first, str(index)) for index in range(1, count + 1)]
