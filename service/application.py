"""One path for every write: load the stream, decide, append, project; all in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.batch import (
    Batch,
    Guard,
    Outcome,
    Request,
    Result,
    idempotency_scope,
    idempotent_event_id,
)
from service.commands import Command
from service.crypto import Vault, VaultSession
from service.db import Database
from service.eventstore import ConcurrencyError

__all__ = [
    "Batch",
    "Guard",
    "Outcome",
    "Request",
    "Result",
    "batch",
    "handle",
    "handle_batch",
    "idempotency_scope",
    "idempotent_event_id",
    "replay",
    "route_through",
]

Front = Callable[[Request], Awaitable[Outcome]]
_fronts: dict[Database, Front] = {}


async def handle(
    db: Database,
    vault: Vault,
    command: Command,
    *,
    now: datetime,
    meta: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    guard: Guard | None = None,
) -> Outcome:
    """Run one command. `guard` checks operational state (a moderator's lease) inside the same locked transaction.

    Where a group committer runs for `db` (the web app starts one: service/committer.py), the command joins the
    commands arriving with it in one transaction; elsewhere (the CLI, tests) it has a transaction of its own.
    Either way it is decided against the state that precedes it, and what it raises is its own.
    """
    request = Request(command=command, now=now, meta=meta, idempotency_key=idempotency_key, guard=guard)
    front = _fronts.get(db)
    if front is not None:
        return await front(request)
    [result] = await handle_batch(db, vault, [request])
    if isinstance(result, Exception):
        raise result
    return result


def route_through(db: Database, front: Front | None) -> None:
    """Send handle()'s commands for `db` through `front` (a group committer), or, with None, straight again."""
    if front is None:
        _fronts.pop(db, None)
    else:
        _fronts[db] = front


async def handle_batch(db: Database, vault: Vault, requests: Sequence[Request]) -> list[Result]:
    """Run commands in order in one transaction: one lock, one insert of every event, one projection update.

    Each command is decided against the state the commands before it left, and answers in its own slot: its
    outcome, or the error that refused it, which fails no other. A database error that aborts the shared
    transaction (an unpredicted unique violation, a deadlock, SQLite busy) is nobody's fault in particular: the
    commands then run again one by one, each in a transaction of its own, and each answers for itself.
    """
    if len(requests) <= 1:
        return [await _alone(db, vault, request) for request in requests]
    committing = False
    try:
        async with db.write() as conn:
            batch = await _begin(conn, vault)
            await batch.prefetch(requests)
            results = [await batch.attempt(request) for request in requests]
            await batch.finish()
            committing = True
        return results
    except (SQLAlchemyError, ConcurrencyError) as error:
        if committing:
            # The commit itself failed: whether it took effect is unknown, so nothing runs twice.
            return [error for _ in requests]
        return [await _alone(db, vault, request) for request in requests]


@asynccontextmanager
async def batch(db: Database, vault: Vault) -> AsyncIterator[Batch]:
    """A Batch for a caller that drives one itself (an import): one write transaction under the log's lock, and
    what the batch decided written when the block ends without an error (nothing at all when it raises)."""
    async with db.write() as conn:
        unit = await _begin(conn, vault)
        yield unit
        await unit.finish()


async def _alone(db: Database, vault: Vault, request: Request) -> Result:
    """One command in its own transaction: a refusal rolls back whatever its guard wrote."""
    try:
        async with db.write() as conn:
            batch = await _begin(conn, vault)
            await batch.prefetch([request])
            outcome = await batch.run(request)
            await batch.finish()
        return outcome
    except Exception as error:  # the caller's own error, raised again by handle()
        return error


async def _begin(conn: AsyncConnection, vault: Vault) -> Batch:
    # Take the log's lock before reading anything: load -> decide -> append is then one critical section on
    # PostgreSQL as on SQLite (BEGIN IMMEDIATE), so the state decide() judged is the state appended to, and
    # concurrent writes to one stream queue up instead of failing on a version they never chose.
    head = await eventstore.lock_head(conn)
    return Batch(conn, vault.session(defer_new_keys=True), head)


async def replay(conn: AsyncConnection, session: VaultSession, event_id: UUID) -> Outcome | None:
    first = await eventstore.find_event(conn, session, event_id)
    if first is None:
        return None
    return Outcome(recorded=[first], version=first.stream_version, replayed=True)
