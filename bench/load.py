"""Bounded client load: a fixed number of requests at a fixed concurrency, each one timed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from bench.processes import BenchError

REQUEST_SECONDS = 30.0
RUN_SECONDS = 600.0


@dataclass(slots=True)
class Sample:
    """What one run of a load loop measured; latencies are of the successful requests, in seconds."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1e3

    def detail(self, *, p50: bool = True) -> str:
        parts = [f"p50 {self.percentile_ms(0.50):.1f} ms"] if p50 else []
        parts.append(f"p99 {self.percentile_ms(0.99):.1f} ms")
        parts.append(f"n={len(self.latencies)}")
        if self.failures:
            parts.append(f"{self.failures} failed: {self.first_error}")
        return ", ".join(parts)


async def run(count: int, concurrency: int, step: Callable[[int], Awaitable[None]]) -> Sample:
    """Call `step(0)` ... `step(count - 1)` from `concurrency` workers; a step that raises counts as a failure."""
    sample = Sample()
    indexes = iter(range(count))

    async def worker() -> None:
        for index in indexes:
            started = time.perf_counter()
            try:
                await step(index)
            except (aiohttp.ClientError, TimeoutError, BenchError) as error:
                sample.failures += 1
                sample.first_error = sample.first_error or f"{type(error).__name__}: {error}"[:200]
            else:
                sample.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), RUN_SECONDS)
    sample.seconds = time.perf_counter() - started
    return sample


def session(concurrency: int, headers: dict[str, str] | None = None) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS),
        headers=headers,
    )


async def expect(response: aiohttp.ClientResponse, status: int) -> bytes:
    body = await response.read()
    if response.status != status:
        raise BenchError(f"{response.method} {response.url.path} answered {response.status}: {body[:200]!r}")
    return body
