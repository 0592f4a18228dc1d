"""The read models as plain rows, to compare the views that one path built with those another built."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from service.db import Database
from service.tables import articles, moderation_queue, published_comments

VIEWS = (moderation_queue, published_comments, articles)
Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(db: Database) -> Snapshot:
    taken: Snapshot = {}
    async with db.read() as conn:
        for table in VIEWS:
            rows = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            taken[table.name] = [tuple(row) for row in rows]
    return taken
