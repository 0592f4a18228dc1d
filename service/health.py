"""Readiness: the database answers and its schema is at the migrations' head."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from service import migrate
from service.db import Database

log = logging.getLogger("comments.ops")


async def readiness(db: Database) -> dict[str, str]:
    """Each check's verdict, "ok" or why not; ready when both are "ok"."""
    checks: dict[str, str] = {}
    try:
        async with db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
        current, head = await migrate.current_revision(db), migrate.head_revision()
        checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}: run migrate"
    except (SQLAlchemyError, OSError) as error:
        log.warning("readiness check failed", extra={"error": str(error)})
        checks["database"] = "unreachable"
    return checks
