"""Batch append, on SQLite and PostgreSQL: many commands in one transaction, each decided after the ones before it."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import crypto, eventstore
from service.application import Outcome, Request, handle, handle_batch
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
from service.db import Database, connect
from service.eventstore import ConcurrencyError
from service.moderation import ArticleClosed, CommentNotFound, DomainError, InvalidTransition
from service.tables import events, rate_limits
from tests.conftest import BACKENDS, Databases
from tests.integration.views import snapshot

NOW = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def _submit(article_id: str, *, parent_id: uuid.UUID | None = None, body: str = "Bài viết rất hay") -> SubmitComment:
    comment_id = uuid.uuid4()
    return SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        parent_id=parent_id,
        subject_id=f"c-{comment_id}",
        author_name="Nguyễn Văn An",
        title="Ý kiến",
        body=body,
        client_hash="a" * 32,
    )


def _requests(commands: list[Command]) -> list[Request]:
    # Idempotency keys make the event ids the same on both paths, so whole rows can be compared.
    return [Request(command=command, now=NOW, idempotency_key=f"key-{index}") for index, command in enumerate(commands)]


@pytest.fixture(params=BACKENDS)
def two_urls(request: pytest.FixtureRequest, databases: Databases) -> tuple[str, str]:
    return databases.new(request.param), databases.new(request.param)


@pytest.fixture
async def two_dbs(two_urls: tuple[str, str]) -> AsyncIterator[tuple[Database, Database]]:
    first, second = connect(two_urls[0]), connect(two_urls[1])
    yield first, second
    await first.dispose()
    await second.dispose()


async def _rows(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(events).order_by(events.c.position))).all()
    return [dict(row._mapping) for row in rows]


class _SeededAESGCM:
    """AES-GCM whose new keys come from a counter: with seeded nonces, both paths seal the same bytes."""

    keys = itertools.count()

    def __init__(self, key: bytes) -> None:
        self._inner = AESGCM(key)

    def encrypt(self, nonce: bytes, data: bytes, associated: bytes | None) -> bytes:
        return self._inner.encrypt(nonce, data, associated)

    def decrypt(self, nonce: bytes, data: bytes, associated: bytes | None) -> bytes:
        return self._inner.decrypt(nonce, data, associated)

    @classmethod
    def generate_key(cls, bit_length: int) -> bytes:
        return hashlib.sha256(f"key-{next(cls.keys)}".encode()).digest()[: bit_length // 8]


def _seed_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same key and nonce sequence from here on, so that ciphertexts, and so hashes, can be compared."""
    nonces = itertools.count()
    monkeypatch.setattr(_SeededAESGCM, "keys", itertools.count())
    monkeypatch.setattr(crypto, "AESGCM", _SeededAESGCM)
    monkeypatch.setattr(
        crypto,
        "os",
        SimpleNamespace(urandom=lambda size: hashlib.sha256(f"nonce-{next(nonces)}".encode()).digest()[:size]),
    )


async def _read_back(db: Database, vault: Vault) -> list[tuple[int, object, bool]]:
    async with db.read() as conn:
        return [
            (item.position, item.event, item.pii_readable)
            for item in await eventstore.read_all(conn, vault.session(), limit=10_000)
        ]


def _shape(results: list[Any]) -> list[Any]:
    return [
        (type(result).__name__, str(result))
        if isinstance(result, Exception)
        else (result.version, result.replayed, [item.position for item in result.recorded])
        for result in results
    ]


async def test_a_batch_records_what_the_same_commands_record_one_by_one(
    two_dbs: tuple[Database, Database], vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one, batched = two_dbs
    article, closed = f"article-{uuid.uuid4().hex[:8]}", f"closed-{uuid.uuid4().hex[:8]}"
    first, second, third = _submit(article), _submit(article, body="Tôi không đồng ý"), _submit(article)
    reply = _submit(article, parent_id=first.comment_id, body="Trả lời")
    lan = "lan"
    commands: list[Command] = [
        ChangeArticleSettings(article_id=article, moderation="pre", closed=False, admin="root"),
        first,
        second,
        ApproveComment(comment_id=first.comment_id, moderator=lan),
        reply,  # replies to a comment approved earlier in the same batch
        ReportComment(comment_id=first.comment_id, reason="spam", reporter_hash="b" * 32),
        EditComment(comment_id=second.comment_id, note="chính tả", body="Tôi không đồng ý lắm", moderator=lan),
        RejectComment(comment_id=second.comment_id, reason_code="off_topic", moderator=lan),
        RestoreComment(comment_id=second.comment_id, moderator=lan),
        ApproveComment(comment_id=uuid.uuid4(), moderator=lan),  # no such comment
        third,
        ApproveComment(comment_id=third.comment_id, moderator=lan),
        HideComment(comment_id=third.comment_id, reason_code="spam", moderator=lan),
        EraseSubject(subject_id=third.subject_id, requested_by="admin:root"),
        RestoreComment(comment_id=third.comment_id, moderator=lan),  # refused: the author's data is erased
        ChangeArticleSettings(article_id=closed, moderation=None, closed=True, admin="root"),
        _submit(closed),  # refused: closed earlier in the batch
    ]
    requests = _requests(commands)

    _seed_randomness(monkeypatch)
    expected: list[Outcome | Exception] = []
    for item in requests:
        try:
            expected.append(
                await handle(one_by_one, vault, item.command, now=NOW, idempotency_key=item.idempotency_key)
            )
        except (DomainError, ConcurrencyError) as error:
            expected.append(error)
    _seed_randomness(monkeypatch)
    results = await handle_batch(batched, vault, requests)

    assert _shape(results) == _shape(expected)
    assert isinstance(results[9], CommentNotFound)
    assert isinstance(results[14], InvalidTransition)
    assert isinstance(results[16], ArticleClosed)
    assert await _rows(batched) == await _rows(one_by_one)
    assert await _read_back(batched, vault) == await _read_back(one_by_one, vault)
    assert await snapshot(batched) == await snapshot(one_by_one)
    async with batched.read() as conn:
        verification = await eventstore.verify(conn)
    assert verification.ok
    assert verification.checked == sum(len(result.recorded) for result in results if isinstance(result, Outcome))


async def test_a_refused_command_leaves_the_others_of_its_batch_appended(fresh_db: Database, vault: Vault) -> None:
    article = f"article-{uuid.uuid4().hex[:8]}"
    kept = _submit(article)
    missing = uuid.uuid4()

    results = await handle_batch(
        fresh_db,
        vault,
        [
            Request(command=kept, now=NOW),
            Request(command=ApproveComment(comment_id=missing, moderator="lan"), now=NOW),
            Request(command=ApproveComment(comment_id=kept.comment_id, moderator="lan"), now=NOW),
        ],
    )

    assert isinstance(results[1], CommentNotFound)
    assert [result.version for result in results if isinstance(result, Outcome)] == [1, 2]
    async with fresh_db.read() as conn:
        positions = (await conn.execute(sa.select(events.c.position).order_by(events.c.position))).scalars().all()
    assert positions == [1, 2]


async def test_two_commands_on_one_stream_in_one_batch_see_each_other(fresh_db: Database, vault: Vault) -> None:
    submitted = _submit(f"article-{uuid.uuid4().hex[:8]}")
    comment_id = submitted.comment_id

    results = await handle_batch(
        fresh_db,
        vault,
        [
            Request(command=submitted, now=NOW),
            Request(command=ApproveComment(comment_id=comment_id, moderator="lan", expected_version=1), now=NOW),
            Request(command=HideComment(comment_id=comment_id, moderator="lan", expected_version=2), now=NOW),
        ],
    )

    assert [result.version for result in results if isinstance(result, Outcome)] == [1, 2, 3]
    last = results[2]
    assert isinstance(last, Outcome)
    assert last.state is not None
    assert last.state.status.value == "hidden"


async def test_a_stale_expected_version_is_refused_alone(db: Database, vault: Vault) -> None:
    stale, fresh = _submit("article-stale"), _submit("article-stale")
    await handle_batch(db, vault, [Request(command=stale, now=NOW), Request(command=fresh, now=NOW)])
    await handle(db, vault, ApproveComment(comment_id=stale.comment_id, moderator="lan"), now=NOW)

    results = await handle_batch(
        db,
        vault,
        [
            Request(
                command=RejectComment(
                    comment_id=stale.comment_id, moderator="an", reason_code="spam", expected_version=1
                ),
                now=NOW,
            ),
            Request(command=ApproveComment(comment_id=fresh.comment_id, moderator="an", expected_version=1), now=NOW),
        ],
    )

    assert isinstance(results[0], ConcurrencyError)
    assert (results[0].expected, results[0].actual) == (1, 2)
    assert isinstance(results[1], Outcome)
    assert results[1].version == 2


async def test_an_idempotent_retry_answers_the_first_outcome_within_and_across_batches(
    db: Database, vault: Vault
) -> None:
    article = f"article-{uuid.uuid4().hex[:8]}"
    first, retry = _submit(article), _submit(article)

    within = await handle_batch(
        db,
        vault,
        [
            Request(command=first, now=NOW, idempotency_key="k-1"),
            Request(command=retry, now=NOW, idempotency_key="k-1"),
        ],
    )
    across = await handle_batch(
        db,
        vault,
        [Request(command=retry, now=NOW, idempotency_key="k-1"), Request(command=_submit(article), now=NOW)],
    )

    original, again, later = within[0], within[1], across[0]
    assert isinstance(original, Outcome)
    assert isinstance(again, Outcome)
    assert isinstance(later, Outcome)
    assert (original.replayed, again.replayed, later.replayed) == (False, True, True)
    assert again.recorded == original.recorded
    assert later.recorded[0].event_id == original.recorded[0].event_id
    async with db.read() as conn:
        assert await eventstore.stream_version(conn, retry.stream) == 0


async def _count_hits(db: Database, bucket: str) -> int:
    async with db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).where(rate_limits.c.bucket == bucket)) or 0)


async def test_a_refused_guarded_command_takes_back_what_its_guard_wrote_and_no_other(
    db: Database, vault: Vault
) -> None:
    kept, refused = _submit("article-guards"), _submit("article-guards")
    tag = uuid.uuid4().hex

    def marking(bucket: str, *, refuse: bool) -> Any:
        async def guard(conn: AsyncConnection) -> None:
            await conn.execute(sa.insert(rate_limits).values(bucket=bucket, window_start=0, count=1))
            if refuse:
                raise ArticleClosed("refused by its guard")

        return guard

    results = await handle_batch(
        db,
        vault,
        [
            Request(command=kept, now=NOW, guard=marking(f"kept-{tag}", refuse=False)),
            Request(command=refused, now=NOW, guard=marking(f"refused-{tag}", refuse=True)),
        ],
    )

    assert isinstance(results[0], Outcome)
    assert isinstance(results[1], ArticleClosed)
    assert await _count_hits(db, f"kept-{tag}") == 1
    assert await _count_hits(db, f"refused-{tag}") == 0


async def test_a_database_error_in_one_command_fails_no_other(db: Database, vault: Vault) -> None:
    before, broken, after = _submit("article-db-error"), _submit("article-db-error"), _submit("article-db-error")

    async def failing(conn: AsyncConnection) -> None:
        await conn.execute(sa.text("SELECT * FROM no_such_table"))

    results = await handle_batch(
        db,
        vault,
        [
            Request(command=before, now=NOW),
            Request(command=broken, now=NOW, guard=failing),
            Request(command=after, now=NOW),
        ],
    )

    assert isinstance(results[0], Outcome)
    assert isinstance(results[2], Outcome)
    assert isinstance(results[1], SQLAlchemyError)
    async with db.read() as conn:
        assert await eventstore.stream_version(conn, before.stream) == 1
        assert await eventstore.stream_version(conn, broken.stream) == 0
        assert await eventstore.stream_version(conn, after.stream) == 1
