"""Importing comments from other systems: each line becomes commands on the same path as live traffic."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from service import eventstore, subjects, submissions, text
from service.application import handle
from service.commands import ApproveComment, Command, RejectComment, SubmitComment
from service.crypto import Vault, comment_subject
from service.db import Database, utcnow
from service.events import ARTICLE_ID, REASON_CODES, comment_stream
from service.moderation import DomainError

FORMATS = ("ndjson",)
IMPORT_FIELDS = {"article_id", "author_name", "phone", "title", "body", "status", "reason_code"}
IMPORT_STATUSES = ("pending", "approved", "rejected")
IMPORT_MODERATOR = "import"
IMPORT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:comments-service:import")


@dataclass
class ImportReport:
    imported: int = 0
    present: int = 0
    bad: list[str] = field(default_factory=list)


def recorded_submission(
    *,
    comment_id: UUID,
    article_id: str,
    parent_id: UUID | None = None,
    author_name: str,
    phone: str | None,
    title: str,
    body: str,
) -> SubmitComment:
    """The submission of a comment brought from elsewhere (an import, the seed), its fields already cleaned."""
    return SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        parent_id=parent_id,
        # A phone reader's subject is resolved (or created, at random) when submissions.record() records it.
        subject_id=subjects.UNRESOLVED if phone else comment_subject(comment_id),
        author_name=author_name,
        phone=phone,
        title=title,
        body=body,
        # The source records what moderation decided: every comment enters pending, whatever the site default.
        default_moderation="pre",
    )


def _import_commands(document: Any) -> tuple[UUID, list[Command]]:
    """The commands one imported comment turns into; ValueError says what is wrong with the line."""
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(document) - IMPORT_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    article_id = document.get("article_id")
    if not isinstance(article_id, str) or not ARTICLE_ID.fullmatch(article_id):
        raise ValueError("article_id: 1-120 letters, digits, '.', '_', ':' or '-'")
    for name in ("author_name", "title", "body", "phone", "status", "reason_code"):
        if document.get(name) is not None and not isinstance(document[name], str):
            raise ValueError(f"{name}: must be a string")
    try:
        author_name = text.clean_line(document.get("author_name") or "", "author_name", text.AUTHOR_NAME_MAX_LEN)
        title = text.clean_line(document.get("title") or "", "title", text.TITLE_MAX_LEN)
        body = text.clean_body(document.get("body") or "")
        raw_phone = (document.get("phone") or "").strip()
        phone = text.normalize_phone(raw_phone) if raw_phone else None
    except text.FieldError as error:
        raise ValueError(str(error)) from error
    status = document.get("status") or "pending"
    if status not in IMPORT_STATUSES:
        raise ValueError(f"status: one of {', '.join(IMPORT_STATUSES)}")
    reason_code = document.get("reason_code") or "other"
    if reason_code not in REASON_CODES:
        raise ValueError(f"reason_code: one of {', '.join(REASON_CODES)}")
    # Derived from the content, so importing the same file twice adds nothing the second time.
    comment_id = uuid5(IMPORT_NAMESPACE, json.dumps([article_id, author_name, phone, title, body]))
    commands: list[Command] = [
        recorded_submission(
            comment_id=comment_id,
            article_id=article_id,
            author_name=author_name,
            phone=phone,
            title=title,
            body=body,
        )
    ]
    if status == "approved":
        commands.append(ApproveComment(comment_id=comment_id, moderator=IMPORT_MODERATOR))
    elif status == "rejected":
        commands.append(RejectComment(comment_id=comment_id, moderator=IMPORT_MODERATOR, reason_code=reason_code))
    return comment_id, commands


async def import_ndjson(
    db: Database, vault: Vault, lines: Sequence[bytes], clock: Callable[[], Any] = utcnow
) -> ImportReport:
    """Import every good line; bad lines are listed with their number, nothing else is lost."""
    report = ImportReport()
    bad = report.bad
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            comment_id, commands = _import_commands(json.loads(raw.decode("utf-8")))
        except UnicodeDecodeError:
            bad.append(f"line {number}: not valid UTF-8")
            continue
        except json.JSONDecodeError as error:
            bad.append(f"line {number}: invalid JSON ({error.msg} at column {error.colno})")
            continue
        except ValueError as error:
            bad.append(f"line {number}: {error}")
            continue
        async with db.read() as conn:
            version = await eventstore.stream_version(conn, comment_stream(comment_id))
        if version > 0:
            report.present += 1
            continue
        for step, command in enumerate(commands):
            meta = {"source": "import", "line": number}
            try:
                if isinstance(command, SubmitComment):
                    await submissions.record(db, vault, command, now=clock(), meta=meta)
                else:
                    await handle(db, vault, command, now=clock(), meta=meta)
            except DomainError as error:
                done = "" if step == 0 else f" (the comment was recorded, as pending, as {comment_id})"
                bad.append(f"line {number}: {type(command).__name__} refused: {error}{done}")
                break
        else:
            report.imported += 1
    return report
