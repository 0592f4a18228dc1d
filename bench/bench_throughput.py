"""Throughput of each path in the Throughput issue, on SQLite and PostgreSQL, each beside a same-run baseline.

Everything goes through the service's public surfaces: `python -m service` commands (migrate, import, moderator,
rebuild) and real HTTP against `python -m service serve`. Counts scale with BENCH_SCALE and the per-row knobs
below; every loop is bounded, all traffic stays on 127.0.0.1, every process started here is stopped here.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench import baselines, databases, rows, workload, wrk
from bench.processes import PYTHON, ROOT, BenchError, cli, free_port, serving
from bench.report import Row, cells, markdown_table, text_table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


@dataclass(frozen=True, slots=True, kw_only=True)
class Knobs:
    backends: tuple[str, ...]
    import_comments: int
    queue_items: int
    rebuild_events: int
    submits: int
    approves: int
    queue_requests: int
    wrk_seconds: int
    wrk_connections: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Knobs:
        scale = float(environ.get("BENCH_SCALE", "1"))

        def count(name: str, default: float) -> int:
            return max(1, int(environ.get(name, "") or default * scale))

        return cls(
            backends=tuple(environ.get("BENCH_BACKENDS", "sqlite,postgres").replace(" ", "").split(",")),
            import_comments=count("BENCH_IMPORT_COMMENTS", 20_000),
            queue_items=int(environ.get("BENCH_QUEUE_ITEMS", "10000")),
            # The queue's filling leaves more than 10,000 events already: at scale 1 the rebuild replays those.
            rebuild_events=count("BENCH_REBUILD_EVENTS", 10_000),
            submits=count("BENCH_SUBMITS", 200),
            approves=count("BENCH_APPROVES", 300),
            queue_requests=int(environ.get("BENCH_QUEUE_REQUESTS", "100")),
            wrk_seconds=int(environ.get("BENCH_WRK_SECONDS", "5")),
            wrk_connections=int(environ.get("BENCH_WRK_CONNECTIONS", "64")),
        )

    def describe(self) -> str:
        return (
            f"BENCH_BACKENDS={','.join(self.backends)} BENCH_IMPORT_COMMENTS={self.import_comments} "
            f"BENCH_QUEUE_ITEMS={self.queue_items} BENCH_REBUILD_EVENTS={self.rebuild_events} "
            f"BENCH_SUBMITS={self.submits} BENCH_APPROVES={self.approves} BENCH_QUEUE_REQUESTS={self.queue_requests} "
            f"BENCH_WRK_SECONDS={self.wrk_seconds} BENCH_WRK_CONNECTIONS={self.wrk_connections}"
        )


def say(message: str) -> None:
    print(message, flush=True)


def skipped(backend: str, what: str, why: str) -> Row:
    return Row(what=what, backend=backend, figure=None, unit="", note=why)


async def _fill(env: dict[str, str], folder: Path, lines: list[dict[str, str]], why: str) -> None:
    """Untimed filling, split over one import process per core."""
    started = time.perf_counter()
    await workload.import_parallel(env, folder, lines, os.cpu_count() or 1)
    say(f"  filled: {len(lines):,} more comments for {why} ({time.perf_counter() - started:.0f} s, untimed)")


async def _measure(backend: str, url: str, knobs: Knobs, folder: Path, out: list[Row]) -> None:
    def add(*measured: Row) -> None:
        for row in measured:
            out.append(row)
            _what, _backend, figure, baseline, ratio, *_rest = cells(row)
            say(f"  {row.what}: {figure}; {baseline}; ratio {ratio}")

    env = workload.service_env(url, folder)
    await cli(env, "migrate", within=120)
    startup = await workload.startup_seconds(env)
    add(await rows.import_row(backend, env, folder, knobs.import_comments, startup))
    pending = workload.pending_in_main_import(knobs.import_comments)
    if pending < knobs.queue_items + knobs.approves:
        more = knobs.queue_items + knobs.approves - pending
        await _fill(env, folder, list(workload.filler(more, "pending", "q")), "the queue")
    token = await workload.moderator_token(env, "bench")
    inserts = {c: await baselines.insert_loop(url, knobs.submits, c) for c in (1, 10)}

    port = free_port()
    env = workload.service_env(url, folder, port)
    base = f"http://127.0.0.1:{port}"
    server = [PYTHON, "-m", "service", "serve"]
    async with serving(server, env, f"{base}/healthz", folder / "server.log"):
        target = rows.Target(backend=backend, base=base, folder=folder, token=token)
        depth = max(0, min(int(knobs.queue_items * 0.9), knobs.queue_items - 50))  # a full page still follows
        add(await rows.queue_row(target, depth, knobs.queue_requests))
        add(*await rows.submit_rows(target, knobs.submits, inserts))
        add(await rows.approve_row(target, knobs.approves, inserts[10]))
        if wrk.available():
            add(*await rows.read_rows(target, knobs.wrk_seconds, knobs.wrk_connections))
        else:
            say(wrk.MISSING)
            add(skipped(backend, "read rows", wrk.MISSING))

    events = await baselines.event_count(url)
    if events < knobs.rebuild_events:
        more = (knobs.rebuild_events - events + 1) // 2  # an approved comment is two events
        await _fill(env, folder, list(workload.filler(more, "approved", "r")), "the rebuild")
    add(await rows.rebuild_row(backend, env, startup))


async def _backend(backend: str, knobs: Knobs) -> list[Row]:
    measured: list[Row] = []
    started = time.perf_counter()
    say(f"[{backend}]")
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        try:
            async with databases.scratch(backend, Path(name)) as url:
                await _measure(backend, url, knobs, Path(name), measured)
        except databases.Unavailable as error:
            say(f"  skipped: {error}")
            measured.append(skipped(backend, "all rows", str(error)))
        except BenchError as error:
            say(f"  failed: {error}")
            measured.append(skipped(backend, "remaining rows", f"failed: {error}"))
    say(f"[{backend}] {time.perf_counter() - started:.0f} s")
    return measured


ORDER = ("rebuild", "import", "submit c1 ", "submit c10 ", "approve", "read", "304", "counts", "queue")


def _ordered(measured: list[Row]) -> list[Row]:
    """In the issue's order, each backend's figure beside the other's."""

    def rank(row: Row) -> int:
        return next((index for index, kind in enumerate(ORDER) if row.what.startswith(kind)), len(ORDER))

    return sorted(measured, key=rank)


def _machine() -> str:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return (
        f"commit {commit or 'unknown'}, {datetime.now().astimezone():%Y-%m-%d %H:%M %z}; "
        f"{os.cpu_count()} cores, {int(memory.split()[1]) // 1024:,} MiB memory, {platform.platform()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def _load() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    knobs = Knobs.from_env(os.environ)
    started = time.perf_counter()
    machine = _machine()
    say(f"bench_throughput: {machine}\n  knobs: {knobs.describe()}")
    load_before = _load()
    measured: list[Row] = []
    for backend in knobs.backends:
        measured += asyncio.run(_backend(backend, knobs))
    table = _ordered(measured)
    elapsed = time.perf_counter() - started
    # Other work on the machine moves every figure; the same-run baselines move with it, the goals do not.
    load = f"load average {load_before} at the start, {_load()} at the end"
    say(f"\nthroughput, {elapsed:.0f} s in all, {load}\n{text_table(table)}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        f"Measured by `python -m bench` in {elapsed:.0f} s, {load}: {machine}.\n\nKnobs: {knobs.describe()}.\n\n"
        f"{markdown_table(table)}\n",
        encoding="utf-8",
    )
    say(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
