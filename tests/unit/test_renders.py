"""The render cache: one drawing per challenge, shared by concurrent requests, bounded in bytes and in backlog."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from service.renders import Overloaded, RenderCache


class SlowDraw:
    """A drawing that waits until released, and counts how often it ran."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, answer: str) -> bytes:
        self.calls += 1
        assert self.release.wait(timeout=10)
        return answer.encode() * 10


async def test_concurrent_requests_for_one_challenge_share_one_drawing() -> None:
    cache, draw = RenderCache(), SlowDraw()
    with ThreadPoolExecutor(max_workers=2) as executor:
        requests = [asyncio.create_task(cache.render(("c1", "wav"), executor, draw, "AB")) for _ in range(3)]
        await asyncio.sleep(0.05)
        draw.release.set()
        payloads = await asyncio.wait_for(asyncio.gather(*requests), timeout=10)

        again = await cache.render(("c1", "wav"), executor, draw, "AB")

    assert payloads == [b"AB" * 10] * 3
    assert again == b"AB" * 10
    assert draw.calls == 1
    assert (cache.rendered, cache.reused) == (1, 3)


async def test_a_full_backlog_turns_new_drawings_away() -> None:
    cache, draw = RenderCache(max_pending=1), SlowDraw()
    with ThreadPoolExecutor(max_workers=1) as executor:
        first = asyncio.create_task(cache.render(("c1", "png"), executor, draw, "AB"))
        await asyncio.sleep(0.05)

        with pytest.raises(Overloaded):
            await cache.render(("c2", "png"), executor, draw, "CD")

        draw.release.set()
        assert await asyncio.wait_for(first, timeout=10) == b"AB" * 10
        assert await cache.render(("c2", "png"), executor, draw, "CD") == b"CD" * 10


async def test_the_cache_stays_within_its_bytes() -> None:
    cache, draw = RenderCache(max_bytes=800), SlowDraw()
    draw.release.set()
    with ThreadPoolExecutor(max_workers=1) as executor:
        for index in range(20):
            await cache.render((f"c{index}", "png"), executor, draw, "0123456789")  # 100 bytes each

    assert cache.size <= 800
    assert len(cache) == 8
    assert cache.cached(("c19", "png")) is not None
    assert cache.cached(("c0", "png")) is None
