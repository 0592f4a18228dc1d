"""The pure fold of a batch of events over the view rows it touches: what it needs, what it writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from service.codec import ERASED
from service.events import (
    CommentApproved,
    CommentEdited,
    CommentHidden,
    CommentReported,
    CommentRestored,
    CommentSubmitted,
    Event,
    SubjectErased,
)
from service.eventstore import RecordedEvent
from service.projection_batches import Before, Published, QueueRow, Wanted, fold, wanted

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def recorded(position: int, event: Event, *, version: int = 1, readable: bool = True) -> RecordedEvent:
    return RecordedEvent(
        position=position,
        event_id=uuid.uuid4(),
        stream_id="s",
        stream_version=version,
        type=type(event).__name__,
        schema_version=1,
        event=event,
        actor="test",
        recorded_at=T0 + timedelta(seconds=position),
        pii_readable=readable,
        prev_hash="0" * 64,
        hash="0" * 64,
    )


def submitted(comment_id: uuid.UUID, subject_id: str = "p-one", *, visible: bool = False) -> CommentSubmitted:
    return CommentSubmitted(
        comment_id=comment_id,
        article_id="a-1",
        subject_id=subject_id,
        author_name="Lê Văn Tám",
        phone="+84912345678",
        title="Tiêu đề",
        body="Nội dung",
        client_hash="abc",
        visible=visible,
    )


def queue_row(comment_id: uuid.UUID, subject_id: str = "p-one", **values: Any) -> QueueRow:
    row: QueueRow = {
        "comment_id": comment_id,
        "article_id": "a-1",
        "parent_id": None,
        "status": "approved",
        "visible": True,
        "version": 2,
        "subject_id": subject_id,
        "author_name": "Lê Văn Tám",
        "phone": "+84912345678",
        "title": "Tiêu đề",
        "body": "Nội dung",
        "client_hash": "abc",
        "flags": [],
        "report_count": 0,
        "report_reasons": [],
        "reason_code": None,
        "submitted_at": T0,
        "updated_at": T0,
        "erased": False,
    }
    row.update(values)
    return row


def test_a_batch_needs_the_rows_of_comments_it_changes_but_not_of_those_it_submits() -> None:
    earlier, fresh = uuid.uuid4(), uuid.uuid4()
    batch = [
        recorded(10, submitted(fresh)),
        recorded(11, CommentApproved(comment_id=fresh, moderator="lan"), version=2),
        recorded(12, CommentReported(comment_id=earlier, reason="spam"), version=3),
        recorded(13, SubjectErased(subject_id="p-two", requested_by="admin")),
    ]

    assert wanted(batch) == Wanted(frozenset({earlier}), frozenset({"p-two"}))


def test_hiding_and_restoring_a_published_comment_in_one_batch_republishes_it_at_the_restore() -> None:
    comment_id = uuid.uuid4()
    before = Before({comment_id: queue_row(comment_id)}, {comment_id: Published(T0, 5)})
    batch = [
        recorded(20, CommentHidden(comment_id=comment_id, moderator="lan"), version=3),
        recorded(21, CommentRestored(comment_id=comment_id, moderator="lan"), version=4),
    ]

    changes = fold(before, batch)

    assert changes.unpublished == []
    assert changes.published == []
    [row] = changes.republished
    assert (row["published_at"], row["position"]) == (T0 + timedelta(seconds=21), 21)
    [updated] = changes.updated
    assert (updated["status"], updated["visible"], updated["version"]) == ("approved", True, 4)
    article = changes.articles["a-1"]
    assert (article.delta, article.changed_position, article.created) == (0, 21, False)


def test_a_comment_submitted_and_approved_in_one_batch_is_inserted_once_in_its_final_state() -> None:
    comment_id = uuid.uuid4()
    batch = [
        recorded(1, submitted(comment_id)),
        recorded(2, CommentApproved(comment_id=comment_id, moderator="lan"), version=2),
        recorded(
            3, CommentEdited(comment_id=comment_id, moderator="lan", note="n", title="Mới", body="Sửa"), version=3
        ),
    ]

    changes = fold(Before({}, {}), batch)

    [row] = changes.inserted
    assert (row["status"], row["version"], row["body"]) == ("approved", 3, "Sửa")
    assert changes.updated == []
    [published] = changes.published
    assert (published["position"], published["title"], published["body"]) == (2, "Mới", "Sửa")
    article = changes.articles["a-1"]
    assert (article.created, article.delta, article.changed_position) == (True, 1, 3)


def test_a_change_to_a_comment_the_views_never_saw_changes_nothing() -> None:
    changes = fold(Before({}, {}), [recorded(7, CommentApproved(comment_id=uuid.uuid4(), moderator="lan"))])

    assert (changes.inserted, changes.updated, changes.published, changes.articles) == ([], [], [], {})


def test_an_erasure_anonymises_the_subjects_comments_so_far_but_not_a_later_one() -> None:
    loaded, earlier, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    before = Before({loaded: queue_row(loaded)}, {loaded: Published(T0, 5)})
    batch = [
        recorded(30, submitted(earlier)),
        recorded(31, SubjectErased(subject_id="p-one", requested_by="admin")),
        recorded(32, submitted(later)),
    ]

    changes = fold(before, batch)

    inserted = {row["comment_id"]: row for row in changes.inserted}
    for row in (inserted[earlier], changes.updated[0]):
        assert (row["author_name"], row["phone"], row["body"], row["client_hash"], row["erased"]) == (
            ERASED,
            None,
            ERASED,
            None,
            True,
        )
    assert inserted[later]["author_name"] == "Lê Văn Tám"
    assert changes.republished[0]["author_name"] == ERASED
    assert changes.articles["a-1"].changed_position == 31


def test_a_replayed_submission_whose_key_was_shredded_keeps_no_address_hash() -> None:
    comment_id = uuid.uuid4()

    changes = fold(Before({}, {}), [recorded(1, submitted(comment_id), readable=False)])

    assert (changes.inserted[0]["client_hash"], changes.inserted[0]["erased"]) == (None, True)


def test_the_fold_leaves_the_rows_it_was_given_untouched() -> None:
    comment_id = uuid.uuid4()
    row = queue_row(comment_id)
    before = Before({comment_id: row}, {comment_id: Published(T0, 5)})

    fold(before, [recorded(9, CommentReported(comment_id=comment_id, reason="spam"), version=3)])

    assert (row["report_count"], row["report_reasons"], row["version"]) == (0, [], 2)
