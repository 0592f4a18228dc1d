"""The CAPTCHA use cases: a new challenge for a reader (bounded per address) and its image or sound."""

from __future__ import annotations

import asyncio
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


async def render(rt: Runtime, challenge_id: str, media: Media) -> bytes | None:
    """The live challenge drawn as a PNG or spoken as a WAV, off the event loop; None once expired or used."""
    async with rt.db.read() as conn:
        challenge = await captcha.get_live(conn, challenge_id, rt.clock())
    if challenge is None:
        return None
    answer = captcha.answer_for(rt.keyring.captcha, challenge.id, rt.settings.captcha_test_answer)
    draw = captcha.render_png if media == "png" else captcha.render_wav
    return await asyncio.get_running_loop().run_in_executor(rt.renderer, draw, answer)
