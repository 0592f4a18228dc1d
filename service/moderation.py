"""The pure domain: comment and article state, decide() and evolve(); stdlib only, no await, no clock."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import reduce
from typing import assert_never
from uuid import UUID

from service.commands import (
    ApproveComment,
    ChangeArticleSettings,
    CommentCommand,
    EditComment,
    HideComment,
    RejectComment,
    ReportComment,
    RestoreComment,
    SubmitComment,
)
from service.events import (
    REASON_CODES,
    REPORT_REASONS,
    ArticleSettingsChanged,
    CommentApproved,
    CommentEdited,
    CommentEvent,
    CommentHidden,
    CommentRejected,
    CommentReported,
    CommentRestored,
    CommentSubmitted,
)


class DomainError(Exception):
    """A command that the rules refuse; `code` is the public error code."""

    code = "invalid_command"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class CommentNotFound(DomainError):
    code = "not_found"


class ArticleClosed(DomainError):
    code = "article_closed"


class InvalidField(DomainError):
    """A command field the rules refuse; reported to clients as a 422 field error."""

    code = "validation_failed"

    def __init__(self, field: str, field_code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.field_code = field_code


class Status(enum.Enum):
    NEW = "new"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    HIDDEN = "hidden"


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    status: Status = Status.NEW
    version: int = 0
    article_id: str = ""
    parent_id: UUID | None = None
    subject_id: str = ""
    visible: bool = False
    title: str = ""
    body: str = ""
    report_count: int = 0
    # The author's data key was shredded: the text reads "(erased)" and must never be published or rewritten,
    # which would seal new text under a new key for the erased subject.
    erased: bool = False

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    version: int = 0
    moderation: str | None = None  # None: the service default applies
    closed: bool = False


NEW_COMMENT = Comment()
NEW_ARTICLE = Article()


def decide_submission(article: Article, parent: Comment | None, command: SubmitComment) -> list[CommentSubmitted]:
    """Judge a new comment against its article's settings and, for a reply, its parent."""
    if article.closed:
        raise ArticleClosed("comments on this article are closed")
    if command.parent_id is not None:
        if parent is None or parent.status is Status.NEW or parent.article_id != command.article_id:
            raise InvalidField("parent_id", "not_found", "the comment replied to does not exist here")
        if not parent.visible:
            raise InvalidField("parent_id", "not_published", "only a published comment can be replied to")
        if parent.is_reply:
            raise InvalidField("parent_id", "too_deep", "replies go one level deep: reply to the first comment")
    moderation = article.moderation or command.default_moderation
    return [
        CommentSubmitted(
            comment_id=command.comment_id,
            article_id=command.article_id,
            parent_id=command.parent_id,
            subject_id=command.subject_id,
            author_name=command.author_name,
            phone=command.phone,
            title=command.title,
            body=command.body,
            client_hash=command.client_hash,
            visible=moderation == "post" and not command.held,
            held=command.held,
            flags=command.flags,
        )
    ]


def decide(state: Comment, command: CommentCommand) -> list[CommentEvent]:
    """Judge a command on an existing comment. Raises a DomainError when the rules refuse it."""
    if state.status is Status.NEW:
        raise CommentNotFound("no such comment")
    status = state.status
    if state.erased and isinstance(command, ApproveComment | EditComment | RestoreComment):
        raise InvalidTransition("the author's personal data was erased: the comment can only be rejected or hidden")
    match command:
        case ApproveComment() if status in (Status.PENDING, Status.REJECTED) or (
            status is Status.APPROVED and state.report_count > 0
        ):
            return [CommentApproved(comment_id=command.comment_id, moderator=command.moderator, note=command.note)]
        case ApproveComment():
            raise InvalidTransition(f"cannot approve a {status.value} comment")
        case RejectComment() if command.reason_code not in REASON_CODES:
            raise InvalidField("reason_code", "invalid_choice", f"reason_code must be one of {REASON_CODES}")
        case RejectComment() if status is Status.PENDING or (status is Status.APPROVED and state.report_count > 0):
            return [
                CommentRejected(
                    comment_id=command.comment_id,
                    moderator=command.moderator,
                    reason_code=command.reason_code,
                    note=command.note,
                )
            ]
        case RejectComment():
            raise InvalidTransition(f"cannot reject a {status.value} comment")
        case EditComment() if not command.note:
            raise InvalidField("note", "required", "an edit needs a note that says why")
        case EditComment() if command.title is None and command.body is None:
            raise InvalidField("body", "required", "an edit changes the title, the body or both")
        case EditComment() if (command.title or state.title, command.body or state.body) == (
            state.title,
            state.body,
        ):
            raise InvalidTransition("the edit changes nothing")
        case EditComment():
            return [
                CommentEdited(
                    comment_id=command.comment_id,
                    moderator=command.moderator,
                    note=command.note or "",
                    title=command.title or state.title,
                    body=command.body or state.body,
                )
            ]
        case HideComment() if command.reason_code is not None and command.reason_code not in REASON_CODES:
            raise InvalidField("reason_code", "invalid_choice", f"reason_code must be one of {REASON_CODES}")
        case HideComment() if state.visible:
            return [
                CommentHidden(
                    comment_id=command.comment_id,
                    moderator=command.moderator,
                    reason_code=command.reason_code,
                    note=command.note,
                )
            ]
        case HideComment():
            raise InvalidTransition(f"cannot hide a {status.value} comment that is not published")
        case RestoreComment() if status in (Status.HIDDEN, Status.REJECTED):
            return [CommentRestored(comment_id=command.comment_id, moderator=command.moderator, note=command.note)]
        case RestoreComment():
            raise InvalidTransition(f"cannot restore a {status.value} comment")
        case ReportComment() if command.reason not in REPORT_REASONS:
            raise InvalidField("reason", "invalid_choice", f"reason must be one of {REPORT_REASONS}")
        case ReportComment() if state.visible:
            return [
                CommentReported(
                    comment_id=command.comment_id, reason=command.reason, reporter_hash=command.reporter_hash
                )
            ]
        case ReportComment():
            # An unpublished comment does not exist for readers: no hint that it does.
            raise CommentNotFound("no such comment")
    assert_never(command)


def evolve(state: Comment, event: CommentEvent) -> Comment:
    """Record a fact: no checks, never raises."""
    version = state.version + 1
    match event:
        case CommentSubmitted():
            return Comment(
                status=Status.PENDING,
                version=version,
                article_id=event.article_id,
                parent_id=event.parent_id,
                subject_id=event.subject_id,
                visible=event.visible,
                title=event.title,
                body=event.body,
            )
        case CommentApproved():
            return replace(state, status=Status.APPROVED, visible=True, report_count=0, version=version)
        case CommentRejected():
            return replace(state, status=Status.REJECTED, visible=False, report_count=0, version=version)
        case CommentEdited():
            return replace(state, title=event.title, body=event.body, version=version)
        case CommentHidden():
            return replace(state, status=Status.HIDDEN, visible=False, report_count=0, version=version)
        case CommentRestored() if state.status is Status.HIDDEN:
            return replace(state, status=Status.APPROVED, visible=True, version=version)
        case CommentRestored():
            return replace(state, status=Status.PENDING, visible=False, version=version)
        case CommentReported():
            return replace(state, report_count=state.report_count + 1, version=version)
    assert_never(event)


def fold(events: Iterable[CommentEvent], initial: Comment = NEW_COMMENT) -> Comment:
    return reduce(evolve, events, initial)


def decide_article(state: Article, command: ChangeArticleSettings) -> list[ArticleSettingsChanged]:
    if command.moderation not in (None, "pre", "post"):
        raise InvalidField("moderation", "invalid_choice", "moderation must be pre or post")
    if state.version > 0 and (state.moderation, state.closed) == (command.moderation, command.closed):
        return []  # already so: an idempotent no-op, nothing to record
    return [
        ArticleSettingsChanged(
            article_id=command.article_id,
            moderation=command.moderation,
            closed=command.closed,
            changed_by=command.admin,
        )
    ]


def evolve_article(state: Article, event: ArticleSettingsChanged) -> Article:
    return Article(version=state.version + 1, moderation=event.moderation, closed=event.closed)


def fold_article(events: Iterable[ArticleSettingsChanged]) -> Article:
    return reduce(evolve_article, events, NEW_ARTICLE)
