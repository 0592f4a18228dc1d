"""One path for every write: load the stream, decide, append, project; all in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.batch import (
    Batch,
    Guard,
    Outcome,
    Request,
    Result,
    Work,
    idempotency_scope,
    idempotent_event_id,
)
from service.commands import Command
from service.crypto import Vault, VaultSession
from service.db import Database

__all__ = [
    "Batch",
    "Front",
    "Guard",
    "Outcome",
    "Request",
    "Result",
    "Work",
    "batch",
    "handle",
    "handle_batch",
    "idempotency_scope",
    "idempotent_event_id",
    "replay",
    "route_through",
    "run_batch",
    "transact",
]


class Front(Protocol):
    """Where handle() and transact() send their work while a group committer runs for the database."""

    async def handle(self, request: Request) -> Outcome: ...

    async def transact(self, work: Work) -> Any: ...


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
        return await front.handle(request)
    [result] = await handle_batch(db, vault, [request])
    if isinstance(result, Exception):
        raise result
    return result


async def transact(db: Database, work: Work) -> Any:
    """A short write of operational state (rate limits, a CAPTCHA): in the committer's next transaction where one
    runs, so that it queues with the log's writes instead of contending for the database; else in its own.

    Its writes commit when it returns and are undone when it raises, so a refusal that must leave a trace (a
    counted hit, a consumed CAPTCHA) is returned, and raised by the caller afterwards.
    """
    front = _fronts.get(db)
    if front is not None:
        return await front.transact(work)
    async with db.write() as conn:
        return await work(conn)


def route_through(db: Database, front: Front | None) -> None:
    """Send handle()'s and transact()'s work for `db` through `front` (a group committer), or, with None, straight
    to the database again."""
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
    results = await run_batch(db, vault, requests)
    return [result if isinstance(result, Outcome | Exception) else _not_an_outcome(result) for result in results]


async def run_batch(db: Database, vault: Vault, items: Sequence[Request | Work]) -> list[Any]:
    """handle_batch() for commands mixed with operational work (transact()), each answered in its slot: a
    command's Outcome or refusal, a work's value or error. Work that raises runs again alone, as on a database
    error, so that nothing it wrote before raising commits with the others."""
    if len(items) <= 1:
        return [await _alone(db, vault, item) for item in items]
    committing = False
    try:
        async with db.write() as conn:
            batch = await _begin(conn, vault)
            await batch.prefetch(item for item in items if isinstance(item, Request))
            results = [
                await batch.attempt(item) if isinstance(item, Request) else await batch.perform(item) for item in items
            ]
            await batch.finish()
            committing = True
        return results
    except Exception as error:
        if committing:
            # The commit itself failed: whether it took effect is unknown, so nothing runs twice.
            return [error for _ in items]
        return [await _alone(db, vault, item) for item in items]


@asynccontextmanager
async def batch(db: Database, vault: Vault) -> AsyncIterator[Batch]:
    """A Batch for a caller that drives one itself (an import): one write transaction under the log's lock, and
    what the batch decided written when the block ends without an error (nothing at all when it raises)."""
    async with db.write() as conn:
        unit = await _begin(conn, vault)
        yield unit
        await unit.finish()


async def _alone(db: Database, vault: Vault, item: Request | Work) -> Any:
    """One command, or one work, in its own transaction: a refusal rolls back whatever its guard wrote."""
    try:
        async with db.write() as conn:
            if not isinstance(item, Request):
                return await item(conn)
            batch = await _begin(conn, vault)
            await batch.prefetch([item])
            outcome = await batch.run(item)
            await batch.finish()
        return outcome
    except Exception as error:
        return error


def _not_an_outcome(result: object) -> Outcome:
    raise TypeError(f"a command answered {type(result).__name__}")


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
