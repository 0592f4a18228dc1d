"""Subscribers: named followers of the event log that react to every new event, resuming from a saved checkpoint.

A handler gets a batch of events and the connection of the transaction that then moves the subscriber's checkpoint
past them. What the handler writes through that connection commits or rolls back with the checkpoint: exactly once.
Effects outside the database (an HTTP call, an e-mail) happen at least once: an error or a crash after the call and
before the commit delivers the batch again, so such handlers must be idempotent (the event id is the natural
idempotency key). The transaction is a write transaction, on SQLite under the database's single write lock: keep
handlers short, and put slow work in a table the handler writes and another task sends from (an outbox).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.crypto import Vault
from service.db import Database
from service.eventstore import RecordedEvent
from service.tables import checkpoints

log = logging.getLogger("comments.subscribers")

Handler = Callable[[Sequence[RecordedEvent], AsyncConnection], Awaitable[None]]
# Checkpoints share projection_checkpoints (name -> position) with the inline views, under their own prefix.
PREFIX = "subscriber:"
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
BATCH_SIZE = 100
POLL_SECONDS = 0.2
RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Subscriber:
    name: str
    handler: Handler
    batch_size: int

    @property
    def checkpoint_name(self) -> str:
        return PREFIX + self.name


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one step did: how many events it handled, and the checkpoint after it (None: another runner has it)."""

    count: int
    checkpoint: int | None


class Subscribers:
    """The registry the composition root fills; run_forever() follows the log for all of them."""

    def __init__(self) -> None:
        self._registered: dict[str, Subscriber] = {}

    def register(self, name: str, handler: Handler, *, batch_size: int = BATCH_SIZE) -> None:
        if not NAME.fullmatch(name):
            raise ValueError(f"a subscriber's name is lowercase letters, digits, - and _, not {name!r}")
        if name in self._registered:
            raise ValueError(f"a subscriber named {name!r} is already registered")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._registered[name] = Subscriber(name, handler, batch_size)

    @property
    def names(self) -> list[str]:
        return list(self._registered)

    async def catch_up(self, db: Database, vault: Vault) -> dict[str, int]:
        """Deliver every event up to the head to each subscriber in turn; returns how many each one handled.

        A handler's error propagates, its batch rolled back and its checkpoint where it was. A subscriber whose
        checkpoint another runner holds is left to that runner.
        """
        handled: dict[str, int] = {}
        for subscriber in self._registered.values():
            handled[subscriber.name] = 0
            while True:
                delivery = await deliver(db, vault, subscriber)
                handled[subscriber.name] += delivery.count
                if delivery.count < subscriber.batch_size:
                    break
        return handled

    async def run_forever(
        self,
        db: Database,
        vault: Vault,
        *,
        poll_seconds: float = POLL_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
    ) -> None:
        """Follow the log until cancelled; returns at once when nobody subscribed.

        One cheap read of the head per poll wakes every subscriber; each then runs in its own task, so a failing or
        slow one holds back no other. A failed batch is logged and retried with a doubling pause.
        """
        if not self._registered:
            return
        head = _Head()
        followers = [
            asyncio.create_task(
                _follow(db, vault, subscriber, head, retry_seconds, max_retry_seconds),
                name=subscriber.checkpoint_name,
            )
            for subscriber in self._registered.values()
        ]
        try:
            while True:
                try:
                    async with db.read() as conn:
                        position, _hash = await eventstore.head(conn)
                except (SQLAlchemyError, OSError):
                    log.exception("reading the log's head failed; retrying next poll")
                else:
                    head.polled(position)
                await asyncio.sleep(poll_seconds)
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)

    async def lag(self, db: Database) -> dict[str, int]:
        """How many events each subscriber has yet to handle: the head's position minus its checkpoint."""
        if not self._registered:
            return {}
        names = [subscriber.checkpoint_name for subscriber in self._registered.values()]
        async with db.read() as conn:
            position, _hash = await eventstore.head(conn)
            rows = await conn.execute(
                sa.select(checkpoints.c.name, checkpoints.c.position).where(checkpoints.c.name.in_(names))
            )
            done = {str(row.name): int(row.position) for row in rows}
        return {
            subscriber.name: max(0, position - done.get(subscriber.checkpoint_name, 0))
            for subscriber in self._registered.values()
        }


async def deliver(db: Database, vault: Vault, subscriber: Subscriber) -> Delivery:
    """Hand the next batch after the checkpoint to the handler and move the checkpoint, in one transaction."""
    async with db.write() as conn:
        checkpoint = await _lock_checkpoint(conn, subscriber.checkpoint_name)
        if checkpoint is None:
            return Delivery(0, None)
        batch = await eventstore.read_all(conn, vault.session(), after=checkpoint, limit=subscriber.batch_size)
        if not batch:
            return Delivery(0, checkpoint)
        await subscriber.handler(batch, conn)
        last = batch[-1].position
        await conn.execute(
            sa.update(checkpoints).where(checkpoints.c.name == subscriber.checkpoint_name).values(position=last)
        )
    return Delivery(len(batch), last)


async def _lock_checkpoint(conn: AsyncConnection, name: str) -> int | None:
    """The checkpoint, read under a row lock held to the commit; None while another runner holds the lock.

    Two processes must not both deliver one batch: the first locks the row, the second skips it (SKIP LOCKED on
    PostgreSQL; on SQLite the write transaction already serialises them) and, once it gets the lock, reads the
    checkpoint the first one saved.
    """
    locked = sa.select(checkpoints.c.position).where(checkpoints.c.name == name).with_for_update(skip_locked=True)
    position = await conn.scalar(locked)
    if position is None:
        if await conn.scalar(sa.select(checkpoints.c.name).where(checkpoints.c.name == name)) is not None:
            return None
        # A subscriber's first run starts from the beginning of the log.
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(dialect.insert(checkpoints).values(name=name, position=0).on_conflict_do_nothing())
        position = await conn.scalar(locked)
    return None if position is None else int(position)


class _Head:
    """The head position as last polled; followers wait here for the next poll."""

    def __init__(self) -> None:
        self.position = 0
        self._polled = asyncio.Event()

    def polled(self, position: int) -> None:
        self.position = position
        self._polled.set()
        self._polled = asyncio.Event()

    async def next_poll(self) -> None:
        await self._polled.wait()


async def _follow(
    db: Database, vault: Vault, subscriber: Subscriber, head: _Head, retry_seconds: float, max_retry_seconds: float
) -> None:
    failures = 0
    while True:
        try:
            delivery = await deliver(db, vault, subscriber)
        except Exception:
            failures += 1
            pause = min(max_retry_seconds, retry_seconds * 2 ** min(failures - 1, 20))
            log.exception(
                "subscriber failed; its batch will be retried",
                extra={"subscriber": subscriber.name, "failures": failures, "retry_in_seconds": pause},
            )
            await asyncio.sleep(pause)
            continue
        failures = 0
        if delivery.count == subscriber.batch_size:
            continue  # a full batch: more may be waiting already
        # Caught up: wait for a poll that shows events past the checkpoint (any poll, when another runner had it).
        await head.next_poll()
        while delivery.checkpoint is not None and head.position <= delivery.checkpoint:
            await head.next_poll()
