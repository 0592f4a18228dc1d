"""The page cache keeps the most recently used pages and forgets the oldest."""

from __future__ import annotations

from service.pagecache import PageCache


def test_the_least_recently_used_page_is_dropped_first() -> None:
    cache = PageCache(max_pages=2)
    cache.put(("a", 1, 1, 20, "oldest"), b"one")
    cache.put(("a", 2, 1, 20, "oldest"), b"two")
    assert cache.get(("a", 1, 1, 20, "oldest")) == b"one"

    cache.put(("a", 3, 1, 20, "oldest"), b"three")

    assert cache.get(("a", 2, 1, 20, "oldest")) is None
    assert cache.get(("a", 1, 1, 20, "oldest")) == b"one"
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (2, 1)


def test_the_cache_stays_within_its_byte_budget() -> None:
    cache = PageCache(max_pages=100, max_bytes=1600)
    for position in range(10):
        cache.put(("a", position, 1, 20, "oldest"), b"x" * 100)
    cache.put(("a", 99, 1, 20, "oldest"), b"y" * 101)  # over a sixteenth of the budget: not cached at all

    assert cache.size <= 1600
    assert cache.get(("a", 99, 1, 20, "oldest")) is None
    assert cache.get(("a", 9, 1, 20, "oldest")) == b"x" * 100
