"""Rebuild the read models: replay the whole log into shadow tables, then swap them in under the log's lock."""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore, projections
from service.crypto import Vault
from service.db import Database
from service.eventstore import RecordedEvent
from service.eventstore import lock_head as lock_head  # re-exported: the swap step tests patch it
from service.projections import LIVE, Views
from service.tables import shadow_copies

# Events per batch. Two batches are in memory at a time (one written while the next is read), with the rows they
# touch and their subjects' keys, however long the log: about 280 MB at 20,000. Measured on a 200,000-event log,
# 10,000 cost a quarter more CPU (more of each comment's history falls across batches, so more rows are loaded and
# updated instead of inserted once) and 50,000 a tenth less for 170 MB more.
BATCH = 20_000
# SQLite has one write lock, and a writer waiting for it polls with a back-off of up to 100 ms: unless the lock
# stays free at least that long between two batches, the next batch takes it again at once and live submissions
# starve. A batch of thousands takes about that long to read and decode, outside the write transaction, so the
# pause is mostly already spent; the replay sleeps for what is left.
SQLITE_FREE_SECONDS = 0.12
# The replay writer's SQLite page cache, in KiB (see _page_cache).
SQLITE_CACHE_KIB = 65_536
Progress = Callable[[int, int], None]


def _tables(views: Views) -> tuple[sa.Table, sa.Table, sa.Table]:
    return views.queue, views.published, views.articles


async def _read(
    conn: AsyncConnection, vault: Vault, after: int, size: int, until: int | None = None
) -> list[RecordedEvent]:
    """The next batch after `after` (up to `until` when given), decrypted with one session, so one key per subject."""
    page = await eventstore.read_all(conn, vault.session(), after=after, limit=size)
    if until is not None:
        page = [item for item in page if item.position <= until]
    return page


@asynccontextmanager
async def _page_cache(db: Database, writer: AsyncConnection) -> AsyncIterator[None]:
    """On SQLite, a larger page cache for the replay's writer; the connection is closed afterwards, cache and all.

    Comment ids are random, so each batch touches pages all over the shadow tables' B-trees; with SQLite's default
    cache (2 MB) the replay slowed down as the tables grew. The cache is a fixed amount, not a share of the log.
    """
    if not db.is_sqlite:
        yield
        return
    async with writer.begin():
        await writer.exec_driver_sql(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        await writer.invalidate()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection while the replay runs; the replay collects the young objects itself.

    A batch allocates hundreds of thousands of objects that stay alive until it is written, and the automatic
    collector would walk them again and again as they age (a fifth of the replay's time). They hold no cycles and
    reference counting frees them once the batch is written; one young-generation collection per batch is enough
    for anything else.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _replay(db: Database, vault: Vault, shadow: Views, size: int, progress: Progress | None) -> int:
    """Replay the log as it stands into `shadow`, batch by batch; returns the last position replayed.

    Each batch is read and decoded in a read transaction while the one before is written in a short write
    transaction, so the database works on one while Python decodes the other, and live writes go on meanwhile.
    One connection reads and one writes throughout, so the writer's page cache keeps the shadow tables' pages.
    """
    async with db.read() as conn:
        total, _hash = await eventstore.head(conn)
    done, released = 0, time.monotonic()
    async with db.engine.connect() as reader, db.writer.connect() as writer, _page_cache(db, writer):

        async def read(after: int) -> list[RecordedEvent]:
            async with reader.begin():
                return await _read(reader, vault, after, size)

        reading = asyncio.ensure_future(read(done))
        try:
            with _collector_paused():
                while page := await reading:
                    done = page[-1].position
                    reading = asyncio.ensure_future(read(done))
                    if db.is_sqlite:
                        await asyncio.sleep(max(0.0, SQLITE_FREE_SECONDS - (time.monotonic() - released)))
                    async with writer.begin():
                        await projections.apply(writer, page, views=shadow, track=False)
                    released = time.monotonic()
                    del page
                    gc.collect(1)
                    if progress is not None:
                        progress(done, max(total, done))
        finally:
            # Leaving early (an error): stop reading ahead, and collect its outcome so nothing is left unretrieved.
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
    return done


async def _swap(conn: AsyncConnection, shadow: Views) -> None:
    for live, copy in zip(_tables(LIVE), _tables(shadow), strict=True):
        names = [column.name for column in live.columns]
        await conn.execute(sa.delete(live))
        # Columns by name: the migrated live table need not list them in the same order as the shadow.
        await conn.execute(sa.insert(live).from_select(names, sa.select(*(copy.c[name] for name in names))))


async def rebuild(
    db: Database, vault: Vault, progress: Progress | None = None, *, batch_size: int | None = None
) -> int:
    """Replay every event into fresh tables and swap them in; returns how many events were replayed.

    The long replay holds no lock but SQLite's write lock for a moment per batch; only the final catch-up and the
    swap hold the log's lock.
    """
    size = batch_size or BATCH
    shadow = Views(*shadow_copies(f"_rebuild_{uuid.uuid4().hex[:12]}"))
    # An erasure replays by its subject's comments: without this index each batch with one would scan the table.
    sa.Index(f"ix_{shadow.queue.name}_subject_id", shadow.queue.c.subject_id)

    def create(sync: Connection) -> None:
        for table in _tables(shadow):
            table.create(sync)

    def drop(sync: Connection) -> None:
        for table in _tables(shadow):
            table.drop(sync, checkfirst=True)

    async with db.write() as conn:
        await conn.run_sync(create)
    try:
        done = await _replay(db, vault, shadow, size, progress)
        async with db.write() as conn:
            # The lock appends take: while the swap holds it no append (and so no inline projection into the live
            # tables) can commit, so nothing lands between the tail we replay and the checkpoint we set.
            head_position, _head_hash = await lock_head(conn)
            while done < head_position:
                page = await _read(conn, vault, done, size, until=head_position)
                if not page:
                    raise RuntimeError(f"the log ends at {done} but its head says {head_position}: run audit verify")
                await projections.apply(conn, page, views=shadow, track=False)
                done = page[-1].position
            await _swap(conn, shadow)
            await projections.save_checkpoint(conn, head_position)
        if progress is not None:
            progress(done, done)
        return done
    finally:
        async with db.write() as conn:
            await conn.run_sync(drop)
