"""Rebuild the read models: replay the whole log into shadow tables, then swap them in under the log's lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, projections
from service.crypto import Vault
from service.db import Database
from service.eventstore import lock_head as lock_head  # re-exported: the swap step tests patch it
from service.projections import LIVE, Views
from service.tables import shadow_copies

BATCH = 1000
# SQLite has one write lock and a waiting writer polls for it with a back-off of up to 100 ms: without a pause
# at least that long, the next batch takes the lock again at once and live submissions starve (and time out).
SQLITE_PAUSE_SECONDS = 0.12
Progress = Callable[[int, int], None]


def _tables(views: Views) -> tuple[sa.Table, sa.Table, sa.Table]:
    return views.queue, views.published, views.articles


async def _replay(conn: AsyncConnection, vault: Vault, views: Views, after: int, until: int | None = None) -> int:
    """Apply one batch after `after` (up to `until` when given) to `views`; returns the last position applied."""
    page = await eventstore.read_all(conn, vault.session(), after=after, limit=BATCH)
    if until is not None:
        page = [item for item in page if item.position <= until]
    if page:
        await projections.apply(conn, page, views=views, track=False)
        return page[-1].position
    return after


async def _swap(conn: AsyncConnection, shadow: Views) -> None:
    for live, copy in zip(_tables(LIVE), _tables(shadow), strict=True):
        names = [column.name for column in live.columns]
        await conn.execute(sa.delete(live))
        # Columns by name: the migrated live table need not list them in the same order as the shadow.
        await conn.execute(sa.insert(live).from_select(names, sa.select(*(copy.c[name] for name in names))))


async def rebuild(db: Database, vault: Vault, progress: Progress | None = None) -> int:
    """Replay every event into fresh tables and swap them in; returns how many events were replayed.

    The long replay runs in short transactions, one per batch, so live writes go on meanwhile; only the
    final catch-up and the swap hold the log's lock.
    """
    shadow = Views(*shadow_copies(f"_rebuild_{uuid.uuid4().hex[:12]}"))

    def create(sync: Connection) -> None:
        for table in _tables(shadow):
            table.create(sync)

    def drop(sync: Connection) -> None:
        for table in _tables(shadow):
            table.drop(sync, checkfirst=True)

    async with db.write() as conn:
        await conn.run_sync(create)
    try:
        async with db.read() as conn:
            total, _hash = await eventstore.head(conn)
        done = 0
        while True:
            async with db.write() as conn:
                reached = await _replay(conn, vault, shadow, done)
            if reached == done:
                break
            done = reached
            if progress is not None:
                progress(done, max(total, done))
            if db.is_sqlite:
                await asyncio.sleep(SQLITE_PAUSE_SECONDS)
        async with db.write() as conn:
            # The lock appends take: while the swap holds it no append (and so no inline projection into the live
            # tables) can commit, so nothing lands between the tail we replay and the checkpoint we set.
            head_position, _head_hash = await lock_head(conn)
            while done < head_position:
                reached = await _replay(conn, vault, shadow, done, until=head_position)
                if reached == done:
                    raise RuntimeError(f"the log ends at {done} but its head says {head_position}: run audit verify")
                done = reached
            await _swap(conn, shadow)
            await projections.save_checkpoint(conn, head_position)
        if progress is not None:
            progress(done, done)
        return done
    finally:
        async with db.write() as conn:
            await conn.run_sync(drop)
