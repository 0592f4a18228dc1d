"""Fixed-window rate limits kept in the database, so that they hold across every service process."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from service.moderation import DomainError
from service.tables import rate_limits

WINDOW_SECONDS = 60


class RateLimited(DomainError):
    """Too many of one action in the current window: answered 429 with `Retry-After: retry_after`."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def hit(conn: AsyncConnection, bucket: str, limit: int, now: datetime, window: int = WINDOW_SECONDS) -> int:
    """Count one hit; returns 0 when allowed, else the seconds until the window resets (for Retry-After)."""
    if limit <= 0:
        return 0
    epoch = int(now.timestamp())
    window_start = epoch - epoch % window
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = insert(rate_limits).values(bucket=bucket[:200], window_start=window_start, count=1)
    statement = upsert.on_conflict_do_update(
        index_elements=[rate_limits.c.bucket, rate_limits.c.window_start],
        set_={"count": rate_limits.c.count + 1},
    ).returning(rate_limits.c.count)
    count = int((await conn.execute(statement)).scalar_one())
    if count <= limit:
        return 0
    return max(1, window_start + window - epoch)


async def purge(conn: AsyncConnection, now: datetime, keep_seconds: int = 3600) -> int:
    cutoff = int(now.timestamp()) - keep_seconds
    result = await conn.execute(sa.delete(rate_limits).where(rate_limits.c.window_start < cutoff))
    return int(result.rowcount or 0)
