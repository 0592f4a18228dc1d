"""The CAPTCHA use cases: a new challenge for a reader (bounded per address) and its image or sound."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from service import captcha, ratelimit
from service.captcha import Challenge
from service.ratelimit import RateLimited
from service.runtime import Runtime

Media = Literal["png", "wav"]


async def issue(rt: Runtime, client_address: str) -> Challenge:
    """A new challenge; RateLimited when this address asked for too many in the window."""
    now = rt.clock()
    async with rt.db.write() as conn:
        # Each challenge is a row and a render: bounded per address like submissions, with room for "get a new code".
        bucket = f"captcha:client:{rt.keyring.client_hash(client_address)}"
        if retry_after := await ratelimit.hit(conn, bucket, rt.settings.captcha_rate_limit, now):
            await conn.commit()
            raise RateLimited("too many new codes in a short time", retry_after)
        return await captcha.issue(
            conn,
            secret=rt.keyring.captcha,
            now=now,
            ttl=timedelta(seconds=rt.settings.captcha_ttl_seconds),
            test_answer=rt.settings.captcha_test_answer,
        )


async def render(rt: Runtime, challenge_id: str, media: Media, client_address: str) -> bytes | None:
    """The live challenge drawn as a PNG or spoken as a WAV; None once expired or used.

    Each challenge is drawn once per process and reused (a WAV costs about 0.2-1 s of CPU); only a new drawing
    counts against the address's render limit (RateLimited), and when too many are under way the caller is told
    to come back (Overloaded) rather than queue behind them.
    """
    now = rt.clock()
    async with rt.db.read() as conn:
        challenge = await captcha.get_live(conn, challenge_id, now)
    if challenge is None:
        return None
    key = (challenge.id, media)
    if (cached := rt.renders.cached(key)) is not None:
        return cached
    bucket = f"render:client:{rt.keyring.client_hash(client_address)}"
    async with rt.db.write() as conn:
        retry_after = await ratelimit.hit(conn, bucket, rt.settings.captcha_render_rate_limit, now)
    if retry_after:
        raise RateLimited("too many security codes drawn for you in a short time", retry_after)
    answer = captcha.answer_for(rt.keyring.captcha, challenge.id, rt.settings.captcha_test_answer)
    draw = captcha.render_png if media == "png" else captcha.render_wav
    return await rt.renders.render(key, rt.renderer, draw, answer)
