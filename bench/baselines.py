"""Same-run baselines on the database under test: a bare executemany, and a single-row INSERT+COMMIT loop."""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa

from bench import databases, load

# About the size of an event row: a JSON payload and the ciphertext of a comment's personal data.
PAYLOAD = '{"article_id": "bench", "comment_id": "' + "0" * 36 + '"}' + "x" * 560
SCRATCH = "bench_scratch"
CREATE = (
    f"CREATE TABLE {SCRATCH} (id TEXT PRIMARY KEY, stream_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)"
)
INSERT = sa.text(f"INSERT INTO {SCRATCH} (id, stream_id, type, data) VALUES (:id, :stream_id, :type, :data)")


def _row() -> dict[str, str]:
    key = str(uuid.uuid4())
    return {"id": key, "stream_id": f"comment-{key}", "type": "CommentSubmitted", "data": PAYLOAD}


async def _scratch_table(url: str, *, drop: bool) -> None:
    engine = databases.engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SCRATCH}" if drop else CREATE)
    finally:
        await engine.dispose()


async def executemany(url: str, count: int) -> float:
    """Rows per second of one executemany of `count` rows in one transaction (the rows are built beforehand)."""
    rows = [_row() for _ in range(count)]
    await _scratch_table(url, drop=False)
    engine = databases.engine(url)
    try:
        started = time.perf_counter()
        async with engine.begin() as conn:
            await conn.execute(INSERT, rows)
        return count / (time.perf_counter() - started)
    finally:
        await engine.dispose()
        await _scratch_table(url, drop=True)


async def insert_loop(url: str, count: int, concurrency: int) -> load.Sample:
    """`count` transactions of one INSERT each, from `concurrency` connections."""
    await _scratch_table(url, drop=False)
    engine = databases.engine(url, pool_size=concurrency)

    async def step(_index: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(INSERT, _row())

    try:
        return await load.run(count, concurrency, step)
    finally:
        await engine.dispose()
        await _scratch_table(url, drop=True)


async def event_count(url: str) -> int:
    engine = databases.engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT count(*) FROM events"))).scalar_one())
    finally:
        await engine.dispose()
