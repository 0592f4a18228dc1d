"""Importing comments from other systems: each line becomes commands on the same path as live traffic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from service import application, subjects, text
from service.application import Request
from service.commands import ApproveComment, Command, RejectComment, SubmitComment
from service.crypto import Vault, comment_subject
from service.db import Database, utcnow
from service.events import ARTICLE_ID, REASON_CODES, article_stream, comment_stream
from service.moderation import DomainError

FORMATS = ("ndjson",)
IMPORT_FIELDS = {"article_id", "author_name", "phone", "title", "body", "status", "reason_code"}
IMPORT_STATUSES = ("pending", "approved", "rejected")
IMPORT_MODERATOR = "import"
IMPORT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:comments-service:import")
IMPORT_BATCH = 1000
"""Commands per transaction: large enough that a transaction's fixed costs vanish, small enough to hold."""
PARSE_STRIDE = 32


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
    db: Database,
    vault: Vault,
    lines: Sequence[bytes],
    clock: Callable[[], Any] = utcnow,
    *,
    batch_size: int = IMPORT_BATCH,
) -> ImportReport:
    """Import every good line; bad lines are listed with their number, nothing else is lost.

    Lines are recorded in batches of about `batch_size` commands, each batch one transaction on the one write
    path (application.batch): every command is still decided by the rules, after the ones before it.
    """
    report = ImportReport()
    bad: list[tuple[int, str]] = []
    # The next batch is parsed while the current one waits on the database: a parser one batch ahead.
    groups: asyncio.Queue[list[_Line] | Exception | None] = asyncio.Queue(maxsize=1)
    parsing = asyncio.create_task(_parse(lines, batch_size, groups, bad))
    try:
        while (group := await groups.get()) is not None:
            if isinstance(group, Exception):
                raise group
            await _import_group(db, vault, group, clock, report, bad)
    finally:
        parsing.cancel()
    # Lines are judged in batches, so a refusal is known after the parse errors of the lines that follow it.
    report.bad = [message for _, message in sorted(bad, key=lambda item: item[0])]
    return report


async def _parse(
    lines: Sequence[bytes],
    batch_size: int,
    groups: asyncio.Queue[list[_Line] | Exception | None],
    bad: list[tuple[int, str]],
) -> None:
    try:
        await _parse_into(lines, batch_size, groups, bad)
    except Exception as error:  # a bug, not a bad line: the importer raises it rather than wait forever
        await groups.put(error)


async def _parse_into(
    lines: Sequence[bytes],
    batch_size: int,
    groups: asyncio.Queue[list[_Line] | Exception | None],
    bad: list[tuple[int, str]],
) -> None:
    group: list[_Line] = []
    size = 0
    for number, raw in enumerate(lines, start=1):
        if number % PARSE_STRIDE == 0:
            await asyncio.sleep(0)  # let the batch being recorded take its turn between its statements
        if not raw.strip():
            continue
        try:
            comment_id, commands = _import_commands(json.loads(raw.decode("utf-8")))
        except UnicodeDecodeError:
            bad.append((number, f"line {number}: not valid UTF-8"))
            continue
        except json.JSONDecodeError as error:
            bad.append((number, f"line {number}: invalid JSON ({error.msg} at column {error.colno})"))
            continue
        except ValueError as error:
            bad.append((number, f"line {number}: {error}"))
            continue
        if group and size + len(commands) > batch_size:
            await groups.put(group)
            group, size = [], 0
        group.append(_Line(number, comment_id, commands))
        size += len(commands)
    if group:
        await groups.put(group)
    await groups.put(None)


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    comment_id: UUID
    commands: list[Command]

    @property
    def phone(self) -> str | None:
        first = self.commands[0]
        return first.phone if isinstance(first, SubmitComment) else None


async def _import_group(
    db: Database,
    vault: Vault,
    group: list[_Line],
    clock: Callable[[], Any],
    report: ImportReport,
    bad: list[tuple[int, str]],
) -> None:
    async with application.batch(db, vault) as batch:
        # Phone readers' subjects, resolved as submissions.record() resolves one, for all the batch's numbers at
        # once: under the log's lock, so nothing moves them before the batch commits.
        phones = {line.phone for line in group if line.phone is not None}
        subject_of, created = await subjects.claim_many(batch.conn, vault.keyring, phones, clock())
        articles = {
            command.article_id for line in group for command in line.commands[:1] if isinstance(command, SubmitComment)
        }
        await batch.read([*(comment_stream(line.comment_id) for line in group), *map(article_stream, articles)])
        sealing = [*subject_of.values(), *(comment_subject(line.comment_id) for line in group)]
        await batch.session.preload(batch.conn, sealing)
        used: set[str] = set()
        for line in group:
            if batch.history(comment_stream(line.comment_id)):
                # Ids derive from the content: a comment imported before, or twice in this file, is not added again.
                report.present += 1
                continue
            for step, command in enumerate(line.commands):
                if isinstance(command, SubmitComment) and command.phone is not None:
                    command = replace(command, subject_id=subject_of[command.phone])
                meta = {"source": "import", "line": line.number}
                result = await batch.attempt(Request(command=command, now=clock(), meta=meta))
                if isinstance(result, DomainError):
                    done = "" if step == 0 else f" (the comment was recorded, as pending, as {line.comment_id})"
                    bad.append((line.number, f"line {line.number}: {type(command).__name__} refused: {result}{done}"))
                    break
                if isinstance(result, Exception):
                    raise result
                if isinstance(command, SubmitComment):
                    used.add(command.subject_id)
            else:
                report.imported += 1
        await subjects.forget_unused(batch.conn, created - used)
