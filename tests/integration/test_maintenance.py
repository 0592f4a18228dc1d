"""Housekeeping removes only what has lapsed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from service import captcha, maintenance, ratelimit
from service.db import Database, utcnow
from service.tables import captchas, claims


async def test_housekeeping_purges_lapsed_challenges_windows_and_claims_only(fresh_db: Database) -> None:
    now = utcnow()
    live_claim, old_claim = uuid.uuid4(), uuid.uuid4()
    async with fresh_db.write() as conn:
        old = await captcha.issue(
            conn, secret=b"s" * 32, now=now - timedelta(hours=3), ttl=timedelta(minutes=5), test_answer=None
        )
        fresh = await captcha.issue(conn, secret=b"s" * 32, now=now, ttl=timedelta(minutes=5), test_answer=None)
        await ratelimit.hit(conn, "old", 5, now - timedelta(hours=2))
        await ratelimit.hit(conn, "new", 5, now)
        await conn.execute(
            sa.insert(claims),
            [
                {"comment_id": live_claim, "moderator": "lan", "expires_at": now + timedelta(minutes=5)},
                {"comment_id": old_claim, "moderator": "lan", "expires_at": now - timedelta(minutes=5)},
            ],
        )

    purged = await maintenance.purge(fresh_db, now)

    assert purged == {"captchas": 1, "rate_limit_windows": 1, "claims": 1}
    async with fresh_db.read() as conn:
        assert set((await conn.execute(sa.select(captchas.c.id))).scalars()) == {fresh.id}
        assert set((await conn.execute(sa.select(claims.c.comment_id))).scalars()) == {live_claim}
    assert old.id != fresh.id
