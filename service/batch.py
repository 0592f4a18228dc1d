"""A batch of commands in one transaction under the log's lock: each decided after the ones before it, one insert."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, projections
from service.commands import (
    ChangeArticleSettings,
    Command,
    CommentCommand,
    EraseSubject,
    SubmitComment,
)
from service.crypto import VaultSession, shred
from service.events import (
    ArticleSettingsChanged,
    CommentEvent,
    CommentSubmitted,
    Event,
    SubjectErased,
    article_stream,
    comment_stream,
)
from service.eventstore import ConcurrencyError, RecordedEvent
from service.moderation import (
    Comment,
    CommentNotFound,
    decide,
    decide_article,
    decide_submission,
    fold,
    fold_article,
)

Guard = Callable[[AsyncConnection], Awaitable[None]]
Work = Callable[[AsyncConnection], Awaitable[Any]]
"""A short write of operational state (rate limits, a CAPTCHA) that may share a batch's transaction."""
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


Result = Outcome | Exception
"""A command's answer in a batch: its outcome, or the error that refused it (a DomainError, a ConcurrencyError,
whatever its guard raised)."""


def idempotent_event_id(scope: str, key: str) -> UUID:
    return uuid5(IDEMPOTENCY_NAMESPACE, f"{scope}\x1f{key}")


def idempotency_scope(command: Command) -> str:
    """Scope keys per target so one client's key cannot collide with another action's."""
    if isinstance(command, SubmitComment):
        return f"submit:{command.article_id}"
    return f"{type(command).__name__}:{command.stream}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A command and what handle() takes beside it. `guard` checks operational state (a moderator's lease, a phone
    number's subject) inside the command's transaction, before it is decided."""

    command: Command
    now: datetime
    meta: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    guard: Guard | None = None

    @property
    def event_id(self) -> UUID | None:
        if self.idempotency_key is None:
            return None
        return idempotent_event_id(idempotency_scope(self.command), self.idempotency_key)


class Batch:
    """Commands decided in order inside one write transaction that holds the log's lock.

    Each command is judged against the state that precedes it, the events of earlier commands of the batch
    included: the streams it touches are kept here as read (prefetch() reads many in one query) and extended with
    what each command records. Positions and the hash chain run on from the head as commands are decided;
    finish() writes the new data keys, every event (one insert) and the projections (one apply).
    """

    def __init__(self, conn: AsyncConnection, session: VaultSession, head: tuple[int, str]) -> None:
        self.conn = conn
        self.session = session
        self.recorded: list[RecordedEvent] = []
        self._appends = eventstore.Appends(head)
        self._histories: dict[str, list[RecordedEvent]] = {}
        self._logged: dict[UUID, RecordedEvent | None] = {}

    async def prefetch(self, requests: Iterable[Request]) -> None:
        """Read what the requests will need in a few queries: their streams, idempotent events, data keys."""
        streams: set[str] = set()
        event_ids: set[UUID] = set()
        subjects: set[str] = set()
        for request in requests:
            command = request.command
            streams.add(command.stream)
            if isinstance(command, SubmitComment):
                streams.add(article_stream(command.article_id))
                if command.parent_id is not None:
                    streams.add(comment_stream(command.parent_id))
                subjects.add(command.subject_id)
            if (event_id := request.event_id) is not None and event_id not in self._logged:
                event_ids.add(event_id)
        await self.read(streams)
        if event_ids:
            found = await eventstore.find_events(self.conn, self.session, event_ids)
            self._logged.update({event_id: found.get(event_id) for event_id in event_ids})
        await self.session.preload(self.conn, subjects - {""})

    async def read(self, stream_ids: Iterable[str]) -> None:
        """Read the streams not read yet, in one query."""
        unread = set(stream_ids) - self._histories.keys()
        if unread:
            self._histories.update(await eventstore.read_streams(self.conn, self.session, unread))

    def history(self, stream_id: str) -> list[RecordedEvent] | None:
        """The stream as this batch knows it (read, plus what the batch appended), or None when not read yet."""
        return self._histories.get(stream_id)

    async def attempt(self, request: Request) -> Result:
        """run(), with a refusal returned instead of raised; a guarded command runs in a SAVEPOINT, so what its
        guard wrote is undone with it. A database error is raised: the transaction is no longer to be trusted."""
        try:
            if request.guard is None:
                # Unguarded, a command writes nothing before the last point where it can be refused.
                return await self.run(request)
            async with self.conn.begin_nested():
                return await self.run(request)
        except SQLAlchemyError:
            raise
        except Exception as error:  # the command's own refusal, handed to its caller
            return error

    async def run(self, request: Request) -> Outcome:
        """Decide one command and add its events; raises what the rules, the versions or the guard refuse."""
        conn, command = self.conn, request.command
        if request.guard is not None:
            await request.guard(conn)
        event_id = request.event_id
        if event_id is not None and (previous := await self._find(event_id)) is not None:
            return Outcome(recorded=[previous], version=previous.stream_version, replayed=True)
        history = await self._history(command.stream)
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
                article = fold_article(_settings(await self._history(article_stream(command.article_id))))
                parent = None
                if command.parent_id is not None:
                    parent = fold(_comment_events(await self._history(comment_stream(command.parent_id))))
                new_events = list(decide_submission(article, parent, command))
            case ChangeArticleSettings():
                new_events = list(decide_article(fold_article(_settings(history)), command))
            case EraseSubject():
                await shred(conn, command.subject_id)
                self.session.forget(command.subject_id)
                self._erased(command.subject_id)
                new_events = [
                    SubjectErased(
                        subject_id=command.subject_id, requested_by=command.requested_by, reason=command.reason
                    )
                ]
            case _:
                state = fold(_comment_events(history))
                if state.version == 0:
                    raise CommentNotFound("no such comment")
                if not history[0].pii_readable:
                    state = replace(state, erased=True)
                subject_id = state.subject_id
                new_events = list(decide(state, _as_comment_command(command)))
        recorded = await self._appends.add(
            conn,
            self.session,
            command.stream,
            new_events,
            expected_version=version,
            actor=command.actor,
            now=request.now,
            meta=request.meta,
            subject_id=subject_id,
            event_ids=None if event_id is None else [event_id, *_more_ids(event_id, len(new_events) - 1)],
        )
        history.extend(recorded)
        self.recorded.extend(recorded)
        self._logged.update((item.event_id, item) for item in recorded)
        final_version = recorded[-1].stream_version if recorded else version
        if isinstance(command, SubmitComment):
            state = fold(_comment_events(recorded))
        elif state is not None:
            state = fold(_comment_events(recorded), state)
        return Outcome(recorded=recorded, version=final_version, state=state)

    async def perform(self, work: Work) -> Any:
        """Run `work` in the batch's transaction. What it raises is raised: the caller must not keep what it wrote
        before raising (handle_batch then runs everything again, one by one)."""
        return await work(self.conn)

    async def finish(self) -> None:
        """Write what the batch decided: new data keys, every event in one insert, then the projections."""
        await self.session.save_new_keys(self.conn)
        await self._appends.write(self.conn)
        await projections.apply(self.conn, self.recorded)

    async def _history(self, stream_id: str) -> list[RecordedEvent]:
        history = self._histories.get(stream_id)
        if history is None:
            history = self._histories[stream_id] = await eventstore.read_stream(self.conn, self.session, stream_id)
        return history

    async def _find(self, event_id: UUID) -> RecordedEvent | None:
        if event_id not in self._logged:
            self._logged[event_id] = await eventstore.find_event(self.conn, self.session, event_id)
        return self._logged[event_id]

    def _erased(self, subject_id: str) -> None:
        # The subject's key is gone: its comments read back erased from now on, as a reread stream would show.
        for history in self._histories.values():
            first = history[0] if history else None
            if first is not None and isinstance(first.event, CommentSubmitted) and first.event.subject_id == subject_id:
                history[0] = replace(first, pii_readable=False)


def _settings(history: list[RecordedEvent]) -> list[ArticleSettingsChanged]:
    return [item.event for item in history if isinstance(item.event, ArticleSettingsChanged)]


def _comment_events(history: list[RecordedEvent]) -> list[CommentEvent]:
    return [item.event for item in history if not isinstance(item.event, ArticleSettingsChanged | SubjectErased)]


def _as_comment_command(command: Command) -> CommentCommand:
    assert not isinstance(command, SubmitComment | ChangeArticleSettings | EraseSubject)
    return command


def _more_ids(first: UUID, count: int) -> list[UUID]:
    return [uuid5(first, str(index)) for index in range(1, count + 1)]
