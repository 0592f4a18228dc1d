"""Laws of the projections, checked on random command sequences: rebuild == incremental, replay is idempotent."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import eventstore, projections
from service import rebuild as rebuild_module
from service.application import handle
from service.commands import (
    ApproveComment,
    ChangeArticleSettings,
    Command,
    EditComment,
    EraseSubject,
    HideComment,
    RejectComment,
    ReportComment,
    RestoreComment,
    SubmitComment,
)
from service.crypto import Vault
from service.db import Database, utcnow
from service.eventstore import ConcurrencyError
from service.moderation import DomainError
from service.rebuild import rebuild
from tests.integration.views import snapshot

ARTICLES = ("a-1", "a-2")
SUBJECTS = ("p-one", "p-two", "p-three")
NAMES = ("Lê Văn Tám", "Hoàng Thị Mai", "Trương Quốc Bảo")

operation = st.one_of(
    st.tuples(
        st.just("submit"), st.sampled_from(ARTICLES), st.sampled_from(SUBJECTS), st.booleans(), st.integers(0, 30)
    ),
    st.tuples(
        st.sampled_from(["approve", "reject", "edit", "hide", "restore", "report"]),
        st.integers(0, 30),
        st.sampled_from(["spam", "offensive", "other"]),
    ),
    st.tuples(st.just("settings"), st.sampled_from(ARTICLES), st.sampled_from([None, "pre", "post"]), st.booleans()),
    st.tuples(st.just("erase"), st.sampled_from(SUBJECTS)),
)


def _command(op: tuple[Any, ...], comments: list[uuid.UUID]) -> Command | None:
    kind = op[0]
    if kind == "submit":
        _, article_id, subject, is_reply, parent_index = op
        parent = comments[parent_index % len(comments)] if is_reply and comments else None
        return SubmitComment(
            comment_id=uuid.uuid4(),
            article_id=article_id,
            parent_id=parent,
            subject_id=subject,
            author_name=NAMES[SUBJECTS.index(subject)],
            phone="+84912345678" if subject == "p-one" else None,
            title="Tiêu đề",
            body="Nội dung bình luận",
            default_moderation="pre",
        )
    if kind == "settings":
        return ChangeArticleSettings(article_id=op[1], moderation=op[2], closed=op[3], admin="root")
    if kind == "erase":
        return EraseSubject(subject_id=op[1], requested_by="moderator:root")
    if not comments:
        return None
    _, index, reason = op
    target = comments[index % len(comments)]
    match kind:
        case "approve":
            return ApproveComment(comment_id=target, moderator="lan")
        case "reject":
            return RejectComment(comment_id=target, moderator="lan", reason_code=reason)
        case "edit":
            return EditComment(comment_id=target, moderator="lan", note="sửa", body=f"Đã sửa {uuid.uuid4().hex[:6]}")
        case "hide":
            return HideComment(comment_id=target, moderator="lan", reason_code=reason)
        case "restore":
            return RestoreComment(comment_id=target, moderator="lan")
        case _:
            return ReportComment(comment_id=target, reason=reason)


# Batches of 3 put batch boundaries inside a comment's history (submitted in one batch, decided in the next).
@pytest.mark.parametrize("batch_size", [3, None], ids=["batches-of-3", "default-batch"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25))
async def test_rebuilding_from_the_log_gives_the_incremental_views(
    operations: list[tuple[Any, ...]],
    fresh_db: Database,
    vault: Vault,
    batch_size: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No live writer waits for the lock here: small batches need not leave it free between them.
    monkeypatch.setattr(rebuild_module, "SQLITE_FREE_SECONDS", 0.0)
    comments: list[uuid.UUID] = []
    for op in operations:
        command = _command(op, comments)
        if command is None:
            continue
        try:
            await handle(fresh_db, vault, command, now=utcnow())
        except (DomainError, ConcurrencyError):
            continue  # refused commands append nothing: that is part of the law too
        if isinstance(command, SubmitComment):
            comments.append(command.comment_id)
    incremental = await snapshot(fresh_db)

    await rebuild(fresh_db, vault, batch_size=batch_size)

    assert await snapshot(fresh_db) == incremental
    # Replaying the whole log over the live views changes nothing: the checkpoint makes apply idempotent.
    async with fresh_db.write() as conn:
        await projections.apply(conn, await eventstore.read_all(conn, vault.session(), limit=100_000))
    assert await snapshot(fresh_db) == incremental
