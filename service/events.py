"""Domain events: past-tense facts, frozen, with stable type names that never embed a module path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag:
    """Why a comment was flagged at submission, recorded so a moderator always sees the reason."""

    code: str
    field: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentSubmitted:
    # The client's address hash too: with the master key, a hash of a small space (IPv4) is reversible.
    PII: ClassVar[tuple[str, ...]] = ("author_name", "phone", "title", "body", "client_hash")
    comment_id: UUID
    article_id: str
    parent_id: UUID | None = None
    subject_id: str
    author_name: str
    phone: str | None = None
    title: str
    body: str
    client_hash: str | None = None
    visible: bool
    held: bool = False
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentApproved:
    PII: ClassVar[tuple[str, ...]] = ()
    comment_id: UUID
    moderator: str
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentRejected:
    PII: ClassVar[tuple[str, ...]] = ()
    comment_id: UUID
    moderator: str
    reason_code: str
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentEdited:
    PII: ClassVar[tuple[str, ...]] = ("title", "body")
    comment_id: UUID
    moderator: str
    note: str
    title: str
    body: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentHidden:
    PII: ClassVar[tuple[str, ...]] = ()
    comment_id: UUID
    moderator: str
    reason_code: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentRestored:
    PII: ClassVar[tuple[str, ...]] = ()
    comment_id: UUID
    moderator: str
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentReported:
    PII: ClassVar[tuple[str, ...]] = ()
    comment_id: UUID
    reason: str
    reporter_hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleSettingsChanged:
    PII: ClassVar[tuple[str, ...]] = ()
    article_id: str
    moderation: str | None
    closed: bool
    changed_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectErased:
    PII: ClassVar[tuple[str, ...]] = ()
    subject_id: str
    requested_by: str
    reason: str = "request"


CommentEvent = (
    CommentSubmitted
    | CommentApproved
    | CommentRejected
    | CommentEdited
    | CommentHidden
    | CommentRestored
    | CommentReported
)
Event = CommentEvent | ArticleSettingsChanged | SubjectErased

EVENT_TYPES: dict[str, type[Event]] = {
    kind.__name__: kind
    for kind in (
        CommentSubmitted,
        CommentApproved,
        CommentRejected,
        CommentEdited,
        CommentHidden,
        CommentRestored,
        CommentReported,
        ArticleSettingsChanged,
        SubjectErased,
    )
}

# What an article id may look like: news sites use numeric ids, slugs or "section:id" keys.
# At most 120 characters, so that the stream name "article-<id>" fits the 200-character stream_id column.
ARTICLE_ID_MAX = 120
ARTICLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,119}$")

REASON_CODES = ("spam", "offensive", "off_topic", "personal_data", "illegal", "other")
REPORT_REASONS = ("spam", "offensive", "off_topic", "personal_data", "illegal", "other")


def comment_stream(comment_id: UUID) -> str:
    return f"comment-{comment_id}"


def article_stream(article_id: str) -> str:
    return f"article-{article_id}"


def subject_stream(subject_id: str) -> str:
    return f"subject-{subject_id}"
