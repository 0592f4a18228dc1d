"""Commands: imperative requests the shell builds, with the actor already on them; decide() judges them."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from service.events import Flag, article_stream, comment_stream, subject_stream


@dataclass(frozen=True, slots=True, kw_only=True)
class _CommentCommand:
    """A command on one comment: it goes to the comment's stream."""

    comment_id: UUID

    @property
    def stream(self) -> str:
        return comment_stream(self.comment_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ReaderCommand(_CommentCommand):
    """A reader's command on a comment: readers have no accounts, so the log names the actor "reader"."""

    @property
    def actor(self) -> str:
        return "reader"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitComment(_ReaderCommand):
    article_id: str
    parent_id: UUID | None = None
    subject_id: str
    author_name: str
    phone: str | None = None
    title: str
    body: str
    client_hash: str | None = None
    default_moderation: str = "pre"
    held: bool = False
    flags: tuple[Flag, ...] = ()
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ModeratorCommand(_CommentCommand):
    moderator: str
    expected_version: int | None = None
    note: str | None = None

    @property
    def actor(self) -> str:
        return f"moderator:{self.moderator}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApproveComment(_ModeratorCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectComment(_ModeratorCommand):
    reason_code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EditComment(_ModeratorCommand):
    title: str | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HideComment(_ModeratorCommand):
    reason_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreComment(_ModeratorCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportComment(_ReaderCommand):
    reason: str
    reporter_hash: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeArticleSettings:
    article_id: str
    moderation: str | None
    closed: bool
    admin: str
    expected_version: int | None = None

    @property
    def stream(self) -> str:
        return article_stream(self.article_id)

    @property
    def actor(self) -> str:
        return f"moderator:{self.admin}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EraseSubject:
    subject_id: str
    requested_by: str
    reason: str = "request"
    expected_version: int | None = None

    @property
    def stream(self) -> str:
        return subject_stream(self.subject_id)

    @property
    def actor(self) -> str:
        return self.requested_by


ModeratorCommand = ApproveComment | RejectComment | EditComment | HideComment | RestoreComment
CommentCommand = ModeratorCommand | ReportComment
Command = SubmitComment | CommentCommand | ChangeArticleSettings | EraseSubject
