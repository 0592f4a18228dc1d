"""A small per-process LRU of rendered published-comment pages, keyed by the projection position they show."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

MAX_PAGES = 2048
MAX_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class PageCache:
    """Entries never go stale: the key holds the article's `changed_position` as the change feed knows it
    (service/changes.py), so a change makes a new key and the old entry simply ages out. Only a rebuild, which
    puts every row back at the position it had, clears the cache (through the feed)."""

    max_pages: int = MAX_PAGES
    max_bytes: int = MAX_BYTES
    size: int = 0
    hits: int = 0
    misses: int = 0
    _pages: OrderedDict[tuple[str, int, int, int, str], bytes] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, int, int, int, str]) -> bytes | None:
        page = self._pages.get(key)
        if page is None:
            self.misses += 1
            return None
        self._pages.move_to_end(key)
        self.hits += 1
        return page

    def put(self, key: tuple[str, int, int, int, str], page: bytes) -> None:
        if len(page) > self.max_bytes // 16:
            return  # one huge page would push out hundreds of ordinary ones
        old = self._pages.pop(key, None)
        self.size -= 0 if old is None else len(old)
        self._pages[key] = page
        self.size += len(page)
        while len(self._pages) > self.max_pages or self.size > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self.size -= len(dropped)

    def clear(self) -> None:
        self._pages.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._pages)
