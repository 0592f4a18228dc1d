"""The append-only event log: append(), read_stream(), read_all(), and the hash chain that proves it intact."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import codec
from service.crypto import VaultSession
from service.db import iso, utc
from service.events import CommentSubmitted, Event
from service.tables import events, log_head

GENESIS_HASH = "0" * 64


class ConcurrencyError(Exception):
    """The stream moved on since the caller read it (409 version_conflict)."""

    code = "version_conflict"

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"{stream_id} is at version {actual}, not {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedEvent:
    position: int
    event_id: UUID
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    event: Event
    actor: str
    recorded_at: datetime
    meta: Mapping[str, Any] = field(default_factory=dict)
    pii_readable: bool = True
    prev_hash: str
    hash: str


def canonical_bytes(row: Mapping[Any, Any]) -> bytes:
    """Everything an event row says, in one stable byte form; the position is inside, so a swap shows."""
    pii = row["pii"]
    document = {
        "position": row["position"],
        "event_id": str(row["event_id"]),
        "stream_id": row["stream_id"],
        "stream_version": row["stream_version"],
        "type": row["type"],
        "schema_version": row["schema_version"],
        "data": row["data"],
        "pii": None if pii is None else base64.b64encode(bytes(pii)).decode("ascii"),
        "meta": row["meta"],
        "actor": row["actor"],
        "recorded_at": iso(row["recorded_at"]),
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def chain_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_bytes(row)).hexdigest()


async def lock_head(conn: AsyncConnection) -> tuple[int, str]:
    # Appends serialize on this one row. Without the lock, positions from a sequence are handed out at
    # insert time but become visible at commit time, so a reader polling "after N" could skip an event that
    # a slow transaction commits later with a smaller position. On SQLite the transaction already holds the
    # write lock (BEGIN IMMEDIATE); the UPDATE is a harmless no-op there.
    row = (
        await conn.execute(
            sa.update(log_head)
            .where(log_head.c.id == 1)
            .values(position=log_head.c.position)
            .returning(log_head.c.position, log_head.c.hash)
        )
    ).one_or_none()
    if row is None:
        raise RuntimeError("log_head is missing: run `python -m service migrate`")
    return int(row.position), str(row.hash)


async def stream_version(conn: AsyncConnection, stream_id: str) -> int:
    version = await conn.scalar(sa.select(sa.func.max(events.c.stream_version)).where(events.c.stream_id == stream_id))
    return int(version or 0)


def _subject_of(event: Event, subject_id: str | None) -> str | None:
    if isinstance(event, CommentSubmitted):
        return event.subject_id
    return subject_id


class Appends:
    """Events bound for the log in one transaction that holds its lock, from any number of streams.

    add() seals and chains each stream's events as it comes (positions and the hash chain run on from the head,
    gapless and in order); write() inserts every row in one statement and moves the head. The caller judged each
    stream's version under the lock; UNIQUE(stream_id, stream_version) stays the final arbiter at write().
    """

    def __init__(self, head: tuple[int, str]) -> None:
        self.position, self.hash = head
        self.rows: list[dict[str, Any]] = []

    async def add(
        self,
        conn: AsyncConnection,
        vault: VaultSession,
        stream_id: str,
        new_events: Sequence[Event],
        *,
        expected_version: int,
        actor: str,
        now: datetime,
        meta: Mapping[str, Any] | None = None,
        subject_id: str | None = None,
        event_ids: Sequence[UUID] | None = None,
    ) -> list[RecordedEvent]:
        """Seal and chain events for `stream_id` at `expected_version`; nothing is kept when it raises."""
        ids = list(event_ids) if event_ids is not None else [uuid4() for _ in new_events]
        position, prev_hash = self.position, self.hash
        recorded: list[RecordedEvent] = []
        rows: list[dict[str, Any]] = []
        for offset, (event, event_id) in enumerate(zip(new_events, ids, strict=True), start=1):
            kind, schema_version, data, personal = codec.encode(event)
            subject = _subject_of(event, subject_id)
            row_meta = dict(meta or {})
            sealed: bytes | None = None
            if personal is not None:
                if subject is None:
                    raise ValueError(f"{kind} carries personal data but no subject was named")
                row_meta["subject"] = subject
                sealed = await vault.seal(conn, subject, event_id.bytes, personal, now)
            row = {
                "position": position + offset,
                "event_id": event_id,
                "stream_id": stream_id,
                "stream_version": expected_version + offset,
                "type": kind,
                "schema_version": schema_version,
                "data": data,
                "pii": sealed,
                "meta": row_meta,
                "actor": actor,
                "recorded_at": utc(now),
                "prev_hash": prev_hash,
            }
            row["hash"] = prev_hash = chain_hash(prev_hash, row)
            rows.append(row)
            recorded.append(_recorded(row, event, pii_readable=True))
        self.rows.extend(rows)
        self.position, self.hash = position + len(rows), prev_hash
        return recorded

    async def write(self, conn: AsyncConnection) -> None:
        """Insert every row added (one statement) and move the head; ConcurrencyError when a version was taken."""
        if not self.rows:
            return
        try:
            await conn.execute(sa.insert(events), self.rows)
        except IntegrityError as error:
            # The unique (stream_id, stream_version) is the final arbiter of a lost race.
            first = self.rows[0]
            raise ConcurrencyError(first["stream_id"], first["stream_version"] - 1, first["stream_version"]) from error
        await conn.execute(sa.update(log_head).where(log_head.c.id == 1).values(position=self.position, hash=self.hash))
        self.rows = []


async def append(
    conn: AsyncConnection,
    vault: VaultSession,
    stream_id: str,
    new_events: Sequence[Event],
    *,
    expected_version: int,
    actor: str,
    now: datetime,
    meta: Mapping[str, Any] | None = None,
    subject_id: str | None = None,
    event_ids: Sequence[UUID] | None = None,
    head: tuple[int, str] | None = None,
) -> list[RecordedEvent]:
    """Append to one stream inside the caller's transaction; ConcurrencyError if it is not at expected_version.

    `subject_id` names whose data key seals the personal fields of events that do not carry it themselves
    (an edit of a comment); `event_ids` lets a retried request reuse its idempotency key; `head` is what
    lock_head() returned to a caller that already holds the lock in this transaction. Many streams at once:
    Appends.
    """
    if not new_events:
        return []
    appends = Appends(head if head is not None else await lock_head(conn))
    actual = await stream_version(conn, stream_id)
    if actual != expected_version:
        raise ConcurrencyError(stream_id, expected_version, actual)
    recorded = await appends.add(
        conn,
        vault,
        stream_id,
        new_events,
        expected_version=expected_version,
        actor=actor,
        now=now,
        meta=meta,
        subject_id=subject_id,
        event_ids=event_ids,
    )
    await appends.write(conn)
    return recorded


def _recorded(row: Mapping[Any, Any], event: Event, *, pii_readable: bool) -> RecordedEvent:
    return RecordedEvent(
        position=int(row["position"]),
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=int(row["stream_version"]),
        type=row["type"],
        schema_version=int(row["schema_version"]),
        event=event,
        actor=row["actor"],
        recorded_at=utc(row["recorded_at"]),
        meta=row["meta"] or {},
        pii_readable=pii_readable,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


async def _decode_rows(conn: AsyncConnection, vault: VaultSession, rows: Sequence[sa.Row[Any]]) -> list[RecordedEvent]:
    """Rows of `select(events)` (so in the table's column order) as events; a replay decodes every event through
    here, so it unpacks tuples and fetches every subject's key in one query up front."""
    await vault.preload(conn, {(row.meta or {}).get("subject", "") for row in rows if row.pii is not None})
    decoded: list[RecordedEvent] = []
    append = decoded.append
    for (
        position,
        event_id,
        stream_id,
        version,
        kind,
        schema_version,
        data,
        pii,
        meta,
        actor,
        recorded_at,
        prev_hash,
        hash_,
    ) in map(tuple, rows):
        personal: dict[str, Any] | None = None
        if pii is not None:
            personal = await vault.open(conn, (meta or {}).get("subject", ""), event_id.bytes, bytes(pii))
        append(
            RecordedEvent(
                position=position,
                event_id=event_id,
                stream_id=stream_id,
                stream_version=version,
                type=kind,
                schema_version=schema_version,
                event=codec.decode(kind, schema_version, data, personal),
                actor=actor,
                recorded_at=utc(recorded_at),
                meta=meta or {},
                pii_readable=pii is None or personal is not None,
                prev_hash=prev_hash,
                hash=hash_,
            )
        )
    return decoded


async def read_stream(conn: AsyncConnection, vault: VaultSession, stream_id: str) -> list[RecordedEvent]:
    rows = (
        await conn.execute(sa.select(events).where(events.c.stream_id == stream_id).order_by(events.c.stream_version))
    ).all()
    return await _decode_rows(conn, vault, rows)


async def read_streams(
    conn: AsyncConnection, vault: VaultSession, stream_ids: Iterable[str]
) -> dict[str, list[RecordedEvent]]:
    """Several streams in one query (a batch of commands): every id asked for is a key, [] when it has no event."""
    wanted = sorted(set(stream_ids))
    found: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in wanted}
    if not wanted:
        return found
    rows = (
        await conn.execute(
            sa.select(events)
            .where(events.c.stream_id.in_(wanted))
            .order_by(events.c.stream_id, events.c.stream_version)
        )
    ).all()
    await vault.preload(conn, {(row._mapping["meta"] or {}).get("subject", "") for row in rows if row.pii is not None})
    for item in await _decode_rows(conn, vault, rows):
        found[item.stream_id].append(item)
    return found


async def read_all(
    conn: AsyncConnection, vault: VaultSession, *, after: int = 0, limit: int = 1000
) -> list[RecordedEvent]:
    rows = (
        await conn.execute(sa.select(events).where(events.c.position > after).order_by(events.c.position).limit(limit))
    ).all()
    return await _decode_rows(conn, vault, rows)


async def find_event(conn: AsyncConnection, vault: VaultSession, event_id: UUID) -> RecordedEvent | None:
    rows = (await conn.execute(sa.select(events).where(events.c.event_id == event_id))).all()
    decoded = await _decode_rows(conn, vault, rows)
    return decoded[0] if decoded else None


async def find_events(
    conn: AsyncConnection, vault: VaultSession, event_ids: Iterable[UUID]
) -> dict[UUID, RecordedEvent]:
    """The events among `event_ids` that the log holds (idempotency keys of a batch), in one query."""
    wanted = list(set(event_ids))
    if not wanted:
        return {}
    rows = (await conn.execute(sa.select(events).where(events.c.event_id.in_(wanted)))).all()
    return {item.event_id: item for item in await _decode_rows(conn, vault, rows)}


async def head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(sa.select(log_head.c.position, log_head.c.hash))).one()
    return int(row.position), str(row.hash)


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked: int
    head_position: int
    head_hash: str
    first_bad_position: int | None
    problem: str | None = None


async def verify(conn: AsyncConnection, *, batch: int = 2000) -> Verification:
    """Walk the whole chain: positions gapless from 1, each prev_hash the hash before, each hash recomputed."""
    head_position, head_hash = await head(conn)
    expected_position, prev_hash, checked = 1, GENESIS_HASH, 0
    after = 0
    while True:
        rows = (
            await conn.execute(
                sa.select(events).where(events.c.position > after).order_by(events.c.position).limit(batch)
            )
        ).all()
        for row in rows:
            mapping = row._mapping
            position = int(mapping["position"])
            problem = None
            if position != expected_position:
                problem = f"position {expected_position} is missing"
            elif mapping["prev_hash"] != prev_hash:
                problem = "prev_hash does not match the hash of the event before"
            elif chain_hash(prev_hash, mapping) != mapping["hash"]:
                problem = "the event's content does not match its hash"
            if problem is not None:
                return Verification(False, checked, head_position, head_hash, expected_position, problem)
            prev_hash, expected_position, checked = mapping["hash"], position + 1, checked + 1
        if len(rows) < batch:
            break
        after = int(rows[-1]._mapping["position"])
    if (expected_position - 1, prev_hash) != (head_position, head_hash):
        # The rows end before (or differ from) what the head recorded: a truncated or re-chained tail.
        return Verification(
            False, checked, head_position, head_hash, expected_position, "the log does not end at the head"
        )
    return Verification(True, checked, head_position, head_hash, None)
