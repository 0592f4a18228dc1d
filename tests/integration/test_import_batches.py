"""Importing in batches, on SQLite and PostgreSQL: what one command at a time recorded, in far fewer transactions."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from service import eventstore, importing, submissions
from service.application import handle
from service.commands import ChangeArticleSettings, SubmitComment
from service.crypto import Vault
from service.db import Database, connect
from service.importing import ImportReport
from service.moderation import DomainError
from service.tables import articles, events, moderation_queue, phone_subjects, published_comments
from tests.conftest import BACKENDS, Databases
from tests.integration.views import snapshot

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
CLOSED = "bai-da-dong"
WORDS = [
    "bài",
    "viết",
    "rất",
    "hay",
    "cảm",
    "ơn",
    "tòa",
    "soạn",
    "mong",
    "thành",
    "phố",
    "sớm",
    "thi",
    "công",
    "đường",
    "gần",
    "nhà",
    "tôi",
    "dân",
    "nhờ",
]


def _clock() -> datetime:
    return NOW


def _lines(count: int, *, seed: int, phones: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    numbers = [f"09{rng.randrange(10**8):08d}" for _ in range(phones)]
    lines = []
    for index in range(count):
        status = rng.choice(["pending", "approved", "approved", "rejected"])
        document: dict[str, Any] = {
            "article_id": CLOSED if index % 37 == 5 else f"bai-{index % 7}",
            "author_name": f"Bạn đọc {index}",
            "title": "Ý kiến",
            "body": " ".join(rng.choice(WORDS) for _ in range(12)) + f" ({index})",
            "status": status,
        }
        if status == "rejected":
            document["reason_code"] = rng.choice(["spam", "offensive", "off_topic"])
        if numbers and rng.random() < 0.4:
            document["phone"] = rng.choice(numbers)
        lines.append(json.dumps(document, ensure_ascii=False).encode())
    return lines


async def _one_by_one(db: Database, vault: Vault, lines: list[bytes]) -> ImportReport:
    """The import as it was: one command, one transaction, each line looked up before it is recorded."""
    report = ImportReport()
    for number, raw in enumerate(lines, start=1):
        try:
            comment_id, commands = importing._import_commands(json.loads(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as error:
            report.bad.append(f"line {number}: {error}")
            continue
        async with db.read() as conn:
            if await eventstore.stream_version(conn, f"comment-{comment_id}") > 0:
                report.present += 1
                continue
        for step, command in enumerate(commands):
            meta = {"source": "import", "line": number}
            try:
                if isinstance(command, SubmitComment):
                    await submissions.record(db, vault, command, now=_clock(), meta=meta)
                else:
                    await handle(db, vault, command, now=_clock(), meta=meta)
            except DomainError as error:
                done = "" if step == 0 else f" (the comment was recorded, as pending, as {comment_id})"
                report.bad.append(f"line {number}: {type(command).__name__} refused: {error}{done}")
                break
        else:
            report.imported += 1
    return report


async def _close(db: Database, vault: Vault) -> None:
    command = ChangeArticleSettings(article_id=CLOSED, moderation=None, closed=True, admin="root")
    await handle(db, vault, command, now=NOW)


async def _views(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The views, with each random phone subject id replaced by the number it stands for."""
    taken = await snapshot(db)
    names = [column.name for column in moderation_queue.columns]
    subject, phone = names.index("subject_id"), names.index("phone")
    taken[moderation_queue.name] = [
        tuple(f"phone:{row[phone]}" if index == subject and row[phone] else value for index, value in enumerate(row))
        for row in taken[moderation_queue.name]
    ]
    return taken


@pytest.fixture(params=BACKENDS)
def two_urls(request: pytest.FixtureRequest, databases: Databases) -> tuple[str, str]:
    return databases.new(request.param), databases.new(request.param)


@pytest.fixture
async def two_dbs(two_urls: tuple[str, str]) -> AsyncIterator[tuple[Database, Database]]:
    first, second = connect(two_urls[0]), connect(two_urls[1])
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_an_import_in_batches_records_what_one_command_at_a_time_recorded(
    two_dbs: tuple[Database, Database], vault: Vault
) -> None:
    reference, batched = two_dbs
    lines = _lines(240, seed=3, phones=15)
    lines[17] = b'{"article_id": "bai-1", "title": "no author"}'
    lines[40] = lines[12]  # the same comment twice in one file
    for db in two_dbs:
        await _close(db, vault)

    expected = await _one_by_one(reference, vault, lines)
    report = await importing.import_ndjson(batched, vault, lines, _clock, batch_size=50)

    assert (report.imported, report.present) == (expected.imported, expected.present)
    assert report.bad == expected.bad
    assert sum("refused: comments on this article are closed" in line for line in report.bad) > 1
    assert await _views(batched) == await _views(reference)
    async with batched.read() as conn:
        assert (await eventstore.verify(conn)).ok
        lookup_rows = await conn.scalar(sa.select(sa.func.count()).select_from(phone_subjects))
        queued_phones = await conn.scalar(
            sa.select(sa.func.count(sa.distinct(moderation_queue.c.phone))).where(moderation_queue.c.phone.is_not(None))
        )
    assert lookup_rows == queued_phones  # no lookup row left behind by a refused submission

    again = await importing.import_ndjson(batched, vault, lines, _clock, batch_size=50)
    assert (again.imported, again.present) == (0, report.imported + report.present)


async def test_ten_thousand_comments_import_with_every_status_and_count(fresh_db: Database, vault: Vault) -> None:
    lines = _lines(10_000, seed=11, phones=500)
    statuses = [json.loads(line)["status"] for line in lines]
    await _close(fresh_db, vault)
    closed = sum(1 for index in range(len(lines)) if index % 37 == 5)

    report = await importing.import_ndjson(fresh_db, vault, lines, _clock)

    assert (report.imported, report.present, len(report.bad)) == (10_000 - closed, 0, closed)
    kept = [status for index, status in enumerate(statuses) if index % 37 != 5]
    async with fresh_db.read() as conn:
        grouped = await conn.execute(
            sa.select(moderation_queue.c.status, sa.func.count()).group_by(moderation_queue.c.status)
        )
        by_status = {str(status): int(count) for status, count in grouped}
        published = await conn.scalar(sa.select(sa.func.count()).select_from(published_comments))
        counted = await conn.scalar(sa.select(sa.func.sum(articles.c.published_count)))
        logged = await conn.scalar(sa.select(sa.func.count()).select_from(events))
        verification = await eventstore.verify(conn)
    assert by_status == {status: kept.count(status) for status in ("pending", "approved", "rejected")}
    assert published == counted == kept.count("approved")
    assert logged == 1 + len(kept) + kept.count("approved") + kept.count("rejected")
    assert verification.ok
