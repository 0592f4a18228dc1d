"""The pure domain: given events, when a command, then events or a refusal. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest

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
from service.moderation import (
    NEW_ARTICLE,
    NEW_COMMENT,
    Article,
    ArticleClosed,
    Comment,
    CommentNotFound,
    InvalidField,
    InvalidTransition,
    Status,
    decide,
    decide_article,
    decide_submission,
    evolve,
    fold,
    fold_article,
)

ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
PARENT = uuid.UUID("00000000-0000-4000-8000-000000000002")


def submit(**changes: object) -> SubmitComment:
    values: dict[str, object] = {
        "comment_id": ID,
        "article_id": "a1",
        "subject_id": "c-1",
        "author_name": "Phạm Minh",
        "title": "Tiêu đề",
        "body": "Nội dung",
    }
    values.update(changes)
    return SubmitComment(**values)  # type: ignore[arg-type]


def submitted(visible: bool = False) -> CommentSubmitted:
    [event] = decide_submission(NEW_ARTICLE, None, submit(default_moderation="post" if visible else "pre"))
    return event


def given(*events: CommentEvent) -> Comment:
    return fold(events)


def pending() -> Comment:
    return given(submitted())


def approved() -> Comment:
    return given(submitted(), CommentApproved(comment_id=ID, moderator="lan"))


def reported() -> Comment:
    return given(
        submitted(), CommentApproved(comment_id=ID, moderator="lan"), CommentReported(comment_id=ID, reason="spam")
    )


def rejected() -> Comment:
    return given(submitted(), CommentRejected(comment_id=ID, moderator="lan", reason_code="spam"))


def hidden() -> Comment:
    return given(
        submitted(), CommentApproved(comment_id=ID, moderator="lan"), CommentHidden(comment_id=ID, moderator="lan")
    )


def post_moderated() -> Comment:
    return given(submitted(visible=True))


def approve() -> ApproveComment:
    return ApproveComment(comment_id=ID, moderator="minh")


def reject(reason: str = "spam") -> RejectComment:
    return RejectComment(comment_id=ID, moderator="minh", reason_code=reason)


def edit(**changes: str | None) -> EditComment:
    values: dict[str, str | None] = {"note": "sửa lỗi chính tả", "body": "Nội dung mới"}
    values.update(changes)
    return EditComment(
        comment_id=ID, moderator="minh", note=values["note"], body=values["body"], title=values.get("title")
    )


def hide() -> HideComment:
    return HideComment(comment_id=ID, moderator="minh", reason_code="offensive")


def restore() -> RestoreComment:
    return RestoreComment(comment_id=ID, moderator="minh")


def report(reason: str = "spam") -> ReportComment:
    return ReportComment(comment_id=ID, reason=reason)


# --- submission ------------------------------------------------------------------------------------------------


def test_submitting_under_pre_moderation_records_a_hidden_pending_comment() -> None:
    [event] = decide_submission(NEW_ARTICLE, None, submit())

    assert event.visible is False
    assert fold([event]).status is Status.PENDING


def test_submitting_under_post_moderation_publishes_at_once() -> None:
    [event] = decide_submission(NEW_ARTICLE, None, submit(default_moderation="post"))

    assert event.visible is True


def test_an_articles_own_setting_wins_over_the_service_default() -> None:
    article = Article(version=1, moderation="pre")

    [event] = decide_submission(article, None, submit(default_moderation="post"))

    assert event.visible is False


def test_a_held_comment_is_not_published_even_under_post_moderation() -> None:
    [event] = decide_submission(NEW_ARTICLE, None, submit(default_moderation="post", held=True))

    assert (event.visible, event.held) == (False, True)


def test_a_closed_article_refuses_submissions() -> None:
    with pytest.raises(ArticleClosed):
        decide_submission(Article(version=1, closed=True), None, submit())


def test_a_reply_needs_a_published_top_level_parent_of_the_same_article() -> None:
    reply = submit(parent_id=PARENT)

    assert decide_submission(NEW_ARTICLE, approved(), reply)[0].parent_id == PARENT
    cases: list[tuple[Comment | None, str]] = [
        (None, "not_found"),
        (NEW_COMMENT, "not_found"),
        (pending(), "not_published"),
        (
            given(decide_submission(NEW_ARTICLE, None, submit(article_id="other", default_moderation="post"))[0]),
            "not_found",
        ),
    ]
    for parent, code in cases:
        with pytest.raises(InvalidField) as refused:
            decide_submission(NEW_ARTICLE, parent, reply)
        assert refused.value.field_code == code


def test_a_reply_to_a_reply_is_refused() -> None:
    [reply_event] = decide_submission(NEW_ARTICLE, approved(), submit(parent_id=PARENT, default_moderation="post"))

    with pytest.raises(InvalidField) as refused:
        decide_submission(NEW_ARTICLE, given(reply_event), submit(parent_id=ID))

    assert refused.value.field_code == "too_deep"


# --- every legal transition ------------------------------------------------------------------------------------

LEGAL: list[tuple[str, Callable[[], Comment], Callable[[], CommentCommand], type, Status, bool]] = [
    ("approve pending", pending, approve, CommentApproved, Status.APPROVED, True),
    ("approve rejected", rejected, approve, CommentApproved, Status.APPROVED, True),
    ("approve reported (dismiss reports)", reported, approve, CommentApproved, Status.APPROVED, True),
    ("approve post-moderated", post_moderated, approve, CommentApproved, Status.APPROVED, True),
    ("reject pending", pending, reject, CommentRejected, Status.REJECTED, False),
    ("reject reported", reported, reject, CommentRejected, Status.REJECTED, False),
    ("reject post-moderated", post_moderated, reject, CommentRejected, Status.REJECTED, False),
    ("edit pending", pending, edit, CommentEdited, Status.PENDING, False),
    ("edit approved", approved, edit, CommentEdited, Status.APPROVED, True),
    ("edit rejected", rejected, edit, CommentEdited, Status.REJECTED, False),
    ("edit hidden", hidden, edit, CommentEdited, Status.HIDDEN, False),
    ("hide approved", approved, hide, CommentHidden, Status.HIDDEN, False),
    ("hide post-moderated", post_moderated, hide, CommentHidden, Status.HIDDEN, False),
    ("restore hidden", hidden, restore, CommentRestored, Status.APPROVED, True),
    ("restore rejected", rejected, restore, CommentRestored, Status.PENDING, False),
    ("report approved", approved, report, CommentReported, Status.APPROVED, True),
    ("report post-moderated", post_moderated, report, CommentReported, Status.PENDING, True),
]


@pytest.mark.parametrize(
    ("name", "state", "command", "event_type", "status", "visible"), LEGAL, ids=[c[0] for c in LEGAL]
)
def test_a_legal_transition_records_one_event_and_moves_the_comment(
    name: str,
    state: Callable[[], Comment],
    command: Callable[[], CommentCommand],
    event_type: type,
    status: Status,
    visible: bool,
) -> None:
    before = state()

    [event] = decide(before, command())
    after = evolve(before, event)

    assert isinstance(event, event_type)
    assert (after.status, after.visible, after.version) == (status, visible, before.version + 1)


def test_approving_a_pending_comment_records_the_moderator() -> None:
    assert decide(pending(), ApproveComment(comment_id=ID, moderator="lan", note="ok")) == [
        CommentApproved(comment_id=ID, moderator="lan", note="ok")
    ]


def test_an_edit_keeps_what_it_does_not_change() -> None:
    [event] = decide(approved(), edit(title="Tiêu đề mới", body=None))

    assert isinstance(event, CommentEdited)
    assert (event.title, event.body) == ("Tiêu đề mới", "Nội dung")


def test_approving_clears_open_reports() -> None:
    [event] = decide(reported(), approve())

    assert evolve(reported(), event).report_count == 0


# --- every illegal one -----------------------------------------------------------------------------------------

ILLEGAL: list[tuple[str, Callable[[], Comment], Callable[[], CommentCommand], type[Exception]]] = [
    ("approve approved", approved, approve, InvalidTransition),
    ("approve hidden", hidden, approve, InvalidTransition),
    ("reject approved without reports", approved, reject, InvalidTransition),
    ("reject rejected", rejected, reject, InvalidTransition),
    ("reject hidden", hidden, reject, InvalidTransition),
    ("hide pending", pending, hide, InvalidTransition),
    ("hide rejected", rejected, hide, InvalidTransition),
    ("hide hidden", hidden, hide, InvalidTransition),
    ("restore pending", pending, restore, InvalidTransition),
    ("restore approved", approved, restore, InvalidTransition),
    ("report pending (not published)", pending, report, CommentNotFound),
    ("report rejected", rejected, report, CommentNotFound),
    ("report hidden", hidden, report, CommentNotFound),
    ("anything on a comment that does not exist", lambda: NEW_COMMENT, approve, CommentNotFound),
    ("edit that changes nothing", approved, lambda: edit(body="Nội dung"), InvalidTransition),
    ("edit without a note", approved, lambda: edit(note=None), InvalidField),
    ("edit without text", approved, lambda: edit(body=None), InvalidField),
    ("reject with an unknown reason", pending, lambda: reject("boring"), InvalidField),
    ("report with an unknown reason", approved, lambda: report("boring"), InvalidField),
    ("approve an erased comment", lambda: replace(pending(), erased=True), approve, InvalidTransition),
    ("edit an erased comment", lambda: replace(approved(), erased=True), edit, InvalidTransition),
    ("restore an erased comment", lambda: replace(hidden(), erased=True), restore, InvalidTransition),
]


@pytest.mark.parametrize(("name", "state", "command", "error"), ILLEGAL, ids=[c[0] for c in ILLEGAL])
def test_an_illegal_transition_is_refused(
    name: str, state: Callable[[], Comment], command: Callable[[], CommentCommand], error: type[Exception]
) -> None:
    with pytest.raises(error):
        decide(state(), command())


# --- articles --------------------------------------------------------------------------------------------------


def test_changing_article_settings_records_them_once() -> None:
    command = ChangeArticleSettings(article_id="a1", moderation="post", closed=True, admin="root")

    [event] = decide_article(NEW_ARTICLE, command)
    again = decide_article(fold_article([event]), command)

    assert event == ArticleSettingsChanged(article_id="a1", moderation="post", closed=True, changed_by="root")
    assert again == []


def test_an_unknown_moderation_mode_is_refused() -> None:
    with pytest.raises(InvalidField):
        decide_article(NEW_ARTICLE, ChangeArticleSettings(article_id="a1", moderation="later", closed=False, admin="r"))


def test_an_erased_comment_can_still_be_rejected_or_hidden() -> None:
    assert isinstance(decide(replace(pending(), erased=True), reject())[0], CommentRejected)
    assert isinstance(decide(replace(approved(), erased=True), hide())[0], CommentHidden)
