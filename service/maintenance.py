"""Housekeeping of operational state: expired challenges, old rate-limit windows, lapsed claims."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from service import captcha, ratelimit
from service.db import Database
from service.tables import claims

log = logging.getLogger("comments.maintenance")
INTERVAL_SECONDS = 60.0


async def purge(db: Database, now: datetime) -> dict[str, int]:
    async with db.write() as conn:
        challenges = await captcha.purge_expired(conn, now)
        windows = await ratelimit.purge(conn, now)
        leases = (await conn.execute(sa.delete(claims).where(claims.c.expires_at <= now))).rowcount
    return {"captchas": int(challenges or 0), "rate_limit_windows": windows, "claims": int(leases or 0)}


async def run_forever(db: Database, clock: Callable[[], datetime], interval: float = INTERVAL_SECONDS) -> None:
    """Purge every `interval` seconds until cancelled; a failed round is logged and the next one tries again."""
    while True:
        await asyncio.sleep(interval)
        try:
            purged = await purge(db, clock())
        except (SQLAlchemyError, OSError):
            log.exception("housekeeping failed; retrying next round")
            continue
        if any(purged.values()):
            log.info("housekeeping", extra=purged)
