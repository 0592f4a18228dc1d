"""Rendered CAPTCHA images and sounds: each challenge drawn once and reused, in bounded memory, with at most a
few renders running or waiting at a time so that drawing can never crowd out submissions and reads."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from service.moderation import DomainError

MAX_BYTES = 32 * 1024 * 1024
MAX_PENDING = 8
Key = tuple[str, str]


class Overloaded(DomainError):
    """Too many renders are running or waiting: the caller should try again in a moment (503)."""

    code = "unavailable"


@dataclass(slots=True)
class RenderCache:
    """An LRU of rendered challenges by (challenge id, media), bounded in bytes; concurrent requests for one key
    share one render. `rendered` and `reused` count misses and hits for the metrics."""

    max_bytes: int = MAX_BYTES
    max_pending: int = MAX_PENDING
    size: int = 0
    rendered: int = 0
    reused: int = 0
    _done: OrderedDict[Key, bytes] = field(default_factory=OrderedDict)
    _pending: dict[Key, asyncio.Future[bytes]] = field(default_factory=dict)

    def cached(self, key: Key) -> bytes | None:
        found = self._done.get(key)
        if found is not None:
            self._done.move_to_end(key)
            self.reused += 1
        return found

    async def render(self, key: Key, executor: Executor, draw: Callable[[str], bytes], answer: str) -> bytes:
        """The render of `key`: from the cache, from a render already under way, or drawn now in `executor`."""
        if (found := self.cached(key)) is not None:
            return found
        if (pending := self._pending.get(key)) is not None:
            self.reused += 1
            return await asyncio.shield(pending)
        if len(self._pending) >= self.max_pending:
            raise Overloaded("too many security codes are being drawn right now")
        future = asyncio.get_running_loop().run_in_executor(executor, draw, answer)
        self._pending[key] = future
        try:
            payload = await asyncio.shield(future)
        finally:
            self._pending.pop(key, None)
        self.rendered += 1
        self._keep(key, payload)
        return payload

    def _keep(self, key: Key, payload: bytes) -> None:
        if len(payload) > self.max_bytes // 8:
            return
        self._done[key] = payload
        self.size += len(payload)
        while self.size > self.max_bytes:
            _, dropped = self._done.popitem(last=False)
            self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._done)
