"""A batch of events folded over the view rows it touches: the projections' pure half, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, assert_never
from uuid import UUID

from service.codec import ERASED
from service.events import (
    ArticleSettingsChanged,
    CommentApproved,
    CommentEdited,
    CommentHidden,
    CommentRejected,
    CommentReported,
    CommentRestored,
    CommentSubmitted,
    SubjectErased,
)
from service.eventstore import RecordedEvent

# A moderation_queue row by column name, as loaded and as written.
QueueRow = dict[str, Any]
CommentChange = CommentApproved | CommentRejected | CommentHidden | CommentRestored | CommentEdited | CommentReported


@dataclass(frozen=True, slots=True)
class Published:
    """When and at which position a comment was published; the rest of its published row mirrors the queue row."""

    published_at: datetime
    position: int


@dataclass(frozen=True, slots=True)
class Wanted:
    """The rows a batch needs before it can be folded: comments it changes but did not submit, erased subjects'."""

    comment_ids: frozenset[UUID]
    subject_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Before:
    """The queue rows of `Wanted` as they stand, and which of them are published."""

    queue: Mapping[UUID, QueueRow]
    published: Mapping[UUID, Published]


@dataclass(slots=True)
class ArticleChange:
    """What a batch does to one article row: create it if missing, set its settings, move its count and ETag."""

    created: bool = False
    settings: tuple[str | None, bool] | None = None
    delta: int = 0
    changed_position: int | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """The rows after the batch, as set-based writes: disjoint id sets, so their order does not matter."""

    inserted: list[QueueRow]
    updated: list[QueueRow]
    published: list[dict[str, Any]]
    republished: list[dict[str, Any]]
    unpublished: list[UUID]
    articles: dict[str, ArticleChange]


def wanted(batch: Sequence[RecordedEvent]) -> Wanted:
    submitted: set[UUID] = set()
    changed: set[UUID] = set()
    erased: set[str] = set()
    for item in batch:
        event = item.event
        if isinstance(event, CommentSubmitted):
            submitted.add(event.comment_id)
        elif isinstance(event, SubjectErased):
            erased.add(event.subject_id)
        elif not isinstance(event, ArticleSettingsChanged) and event.comment_id not in submitted:
            # A change to a comment submitted earlier in this batch needs no row from the database: it has none.
            changed.add(event.comment_id)
    return Wanted(frozenset(changed), frozenset(erased))


@dataclass(slots=True)
class _Fold:
    queue: dict[UUID, QueueRow]
    published: dict[UUID, Published]
    loaded: frozenset[UUID]
    by_subject: dict[str, list[UUID]] = field(default_factory=dict)
    inserted: list[UUID] = field(default_factory=list)
    dirty: set[UUID] = field(default_factory=set)
    republished: set[UUID] = field(default_factory=set)
    articles: dict[str, ArticleChange] = field(default_factory=dict)


def fold(before: Before, batch: Sequence[RecordedEvent]) -> Changes:
    """The views after `batch` (position-ordered, already past any checkpoint), as the rows to write."""
    state = _Fold(
        queue={comment_id: dict(row) for comment_id, row in before.queue.items()},
        published=dict(before.published),
        loaded=frozenset(before.queue),
    )
    for comment_id, row in state.queue.items():
        state.by_subject.setdefault(row["subject_id"], []).append(comment_id)
    for item in batch:
        _apply(state, item)
    return _changes(state, before)


def _changes(state: _Fold, before: Before) -> Changes:
    unpublished = [cid for cid in before.published if cid not in state.published]
    published: list[dict[str, Any]] = []
    republished: list[dict[str, Any]] = []
    for cid, at in state.published.items():
        if cid not in before.published:
            published.append(_published_row(state.queue[cid], at))
        elif cid in state.republished:
            republished.append(_published_row(state.queue[cid], at))
    return Changes(
        inserted=_by_key([state.queue[cid] for cid in state.inserted]),
        updated=_by_key([state.queue[cid] for cid in state.loaded if cid in state.dirty]),
        published=_by_key(published),
        republished=_by_key(republished),
        unpublished=unpublished,
        articles=state.articles,
    )


def _by_key(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Comment ids are random: in key order, a B-tree takes a batch page by page instead of all over (SQLite's page
    # cache is small), and both databases store a UUID in an order that its integer value follows.
    rows.sort(key=lambda row: row["comment_id"].int)
    return rows


def _published_row(row: QueueRow, at: Published) -> dict[str, Any]:
    return {
        "comment_id": row["comment_id"],
        "article_id": row["article_id"],
        "parent_id": row["parent_id"],
        "author_name": row["author_name"],
        "title": row["title"],
        "body": row["body"],
        "published_at": at.published_at,
        "position": at.position,
    }


def _article(state: _Fold, article_id: str) -> ArticleChange:
    change = state.articles.get(article_id)
    if change is None:
        change = state.articles[article_id] = ArticleChange()
    return change


def _touch(state: _Fold, article_id: str, position: int, delta: int) -> None:
    change = _article(state, article_id)
    change.delta += delta
    change.changed_position = position


def _apply(state: _Fold, item: RecordedEvent) -> None:
    # A match that ends in assert_never: an event type added to the union but not here is a mypy error, not an
    # event that silently projects nothing.
    event = item.event
    match event:
        case CommentSubmitted():
            _apply_submitted(state, item, event)
        case ArticleSettingsChanged():
            change = _article(state, event.article_id)
            change.created = True
            change.settings = (event.moderation, event.closed)
            # The published list shows whether the article is closed, so its ETag must move too.
            change.changed_position = item.position
        case SubjectErased():
            _apply_erased(state, item, event)
        case (
            CommentApproved()
            | CommentRejected()
            | CommentHidden()
            | CommentRestored()
            | CommentEdited()
            | CommentReported()
        ):
            row = state.queue.get(event.comment_id)
            if row is not None:  # a comment the view never saw (impossible in a consistent log): nothing to update
                _apply_to_comment(state, item, event, row)
        case _:
            assert_never(event)


def _apply_to_comment(state: _Fold, item: RecordedEvent, event: CommentChange, row: QueueRow) -> None:
    match event:
        case CommentApproved():
            _set_status(state, item, row, _decided("approved", None))
        case CommentRejected():
            _set_status(state, item, row, _decided("rejected", event.reason_code))
        case CommentHidden():
            _set_status(state, item, row, _decided("hidden", event.reason_code))
        case CommentRestored() if row["status"] == "hidden":
            _set_status(state, item, row, {"status": "approved", "visible": True, "reason_code": None})
        case CommentRestored():
            # A restored rejection goes back to the queue, unpublished.
            _set_status(state, item, row, {"status": "pending", "visible": False, "reason_code": None})
        case CommentEdited():
            _changed(state, item, row, title=event.title, body=event.body)
            if row["comment_id"] in state.published:
                state.republished.add(row["comment_id"])
                _touch(state, row["article_id"], item.position, 0)
        case CommentReported():
            _changed(
                state,
                item,
                row,
                report_count=row["report_count"] + 1,
                report_reasons=[*row["report_reasons"], event.reason],
            )
        case _:
            assert_never(event)


def _decided(status: str, reason_code: str | None) -> dict[str, Any]:
    """A moderator's decision: the new status and reason, published only when approved, open reports settled."""
    return {
        "status": status,
        "visible": status == "approved",
        "reason_code": reason_code,
        "report_count": 0,
        "report_reasons": [],
    }


def _changed(state: _Fold, item: RecordedEvent, row: QueueRow, **values: Any) -> None:
    row.update(values, version=item.stream_version, updated_at=item.recorded_at)
    state.dirty.add(row["comment_id"])


def _set_status(state: _Fold, item: RecordedEvent, row: QueueRow, values: dict[str, Any]) -> None:
    was_visible = bool(row["visible"])
    _changed(state, item, row, **values)
    if row["visible"] and not was_visible:
        _publish(state, item, row)
    elif was_visible and not row["visible"]:
        _unpublish(state, item, row)


def _publish(state: _Fold, item: RecordedEvent, row: QueueRow) -> None:
    state.published[row["comment_id"]] = Published(item.recorded_at, item.position)
    state.republished.add(row["comment_id"])
    _touch(state, row["article_id"], item.position, +1)


def _unpublish(state: _Fold, item: RecordedEvent, row: QueueRow) -> None:
    if state.published.pop(row["comment_id"], None) is not None:
        _touch(state, row["article_id"], item.position, -1)


def _apply_submitted(state: _Fold, item: RecordedEvent, event: CommentSubmitted) -> None:
    _article(state, event.article_id).created = True
    erased = not item.pii_readable
    row: QueueRow = {
        "comment_id": event.comment_id,
        "article_id": event.article_id,
        "parent_id": event.parent_id,
        "status": "pending",
        "visible": event.visible,
        "version": item.stream_version,
        "subject_id": event.subject_id,
        "author_name": event.author_name,
        "phone": event.phone,
        "title": event.title,
        "body": event.body,
        # An erased subject's comment replays with no address hash, as the live view was left by the erasure.
        "client_hash": None if erased else event.client_hash,
        "flags": [{"code": f.code, "field": f.field, "detail": f.detail} for f in event.flags],
        "report_count": 0,
        "report_reasons": [],
        "reason_code": None,
        "submitted_at": item.recorded_at,
        "updated_at": item.recorded_at,
        "erased": erased,
    }
    state.queue[event.comment_id] = row
    state.inserted.append(event.comment_id)
    state.by_subject.setdefault(event.subject_id, []).append(event.comment_id)
    if event.visible:
        _publish(state, item, row)


def _apply_erased(state: _Fold, item: RecordedEvent, event: SubjectErased) -> None:
    for comment_id in state.by_subject.get(event.subject_id, ()):
        row = state.queue[comment_id]
        row.update(author_name=ERASED, phone=None, title=ERASED, body=ERASED, erased=True, client_hash=None)
        state.dirty.add(comment_id)
        if comment_id in state.published:
            state.republished.add(comment_id)
            _touch(state, row["article_id"], item.position, 0)
