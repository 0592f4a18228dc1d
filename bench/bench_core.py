"""Benchmark of the write and read paths on SQLite and PostgreSQL, as ratios against baselines of the same run.

Writes: handle(SubmitComment) (encrypt, hash-chain, append, project inline, one transaction) against a bare
INSERT of a row of the same size in its own transaction. Reads: the published list over real HTTP, fresh and as
a 304, against /healthz on the same server. All traffic stays on 127.0.0.1; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
import sqlalchemy as sa
from aiohttp import web

from service import migrate
from service.application import handle
from service.commands import ApproveComment, SubmitComment
from service.crypto import Keyring, Vault
from service.db import Database, connect, utcnow
from service.settings import Settings
from service.web.app import create_app

SECRET = "bench-secret-that-is-long-enough-for-the-rules"
WRITES = int(os.environ.get("BENCH_WRITES", "300"))
READS = int(os.environ.get("BENCH_READS", "500"))
PG_ADMIN = os.environ.get("COMMENTS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
BODY = "Bài viết rất hay, cảm ơn tòa soạn. " * 6


def _submit(article_id: str) -> SubmitComment:
    comment_id = uuid.uuid4()
    return SubmitComment(
        comment_id=comment_id,
        article_id=article_id,
        subject_id=f"c-{comment_id}",
        author_name="Nguyễn Văn An",
        phone="+84912345678",
        title="Ý kiến bạn đọc",
        body=BODY,
    )


async def _timed(count: int, step: Callable[[int], Awaitable[object]]) -> float:
    started = time.perf_counter()
    for index in range(count):
        await step(index)
    return (time.perf_counter() - started) / count


async def _writes(db: Database, vault: Vault) -> tuple[float, float]:
    async with db.write() as conn:
        await conn.exec_driver_sql("CREATE TABLE bench_baseline (id TEXT PRIMARY KEY, body TEXT NOT NULL)")

    async def baseline(_index: int) -> None:
        async with db.write() as conn:
            await conn.execute(
                sa.text("INSERT INTO bench_baseline (id, body) VALUES (:id, :body)"),
                {"id": str(uuid.uuid4()), "body": BODY},
            )

    async def submission(_index: int) -> None:
        await handle(db, vault, _submit("bench-write"), now=utcnow())

    return await _timed(WRITES, baseline), await _timed(WRITES, submission)


async def _reads(settings: Settings, db: Database, vault: Vault) -> dict[str, float]:
    article_id = "bench-read"
    for _ in range(50):
        outcome = await handle(db, vault, _submit(article_id), now=utcnow())
        comment_id = outcome.recorded[0].event.comment_id  # type: ignore[union-attr]
        await handle(db, vault, ApproveComment(comment_id=comment_id, moderator="bench"), now=utcnow())
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as client:
            listing = f"{base}/api/v1/articles/{article_id}/comments?per_page=20"
            async with client.get(listing) as first:
                etag = first.headers["ETag"]

            async def get(url: str, headers: dict[str, str] | None = None) -> None:
                async with client.get(url, headers=headers) as response:
                    await response.read()

            health = await _timed(READS, lambda _i: get(f"{base}/healthz"))
            fresh = await _timed(READS, lambda _i: get(listing))
            cached = await _timed(READS, lambda _i: get(listing, {"If-None-Match": etag}))
    finally:
        await runner.cleanup()
    return {"healthz": health, "list": fresh, "list_304": cached}


async def _run(name: str, url: str) -> None:
    db = connect(url)
    vault = Vault(Keyring.from_secret(SECRET))
    try:
        await migrate.upgrade(db)
        baseline, submission = await _writes(db, vault)
        reads = await _reads(Settings(database_url=url, secret_key=SECRET), db, vault)
    finally:
        await db.dispose()
    print(
        f"[{name}] write: bare INSERT {baseline * 1e3:.2f} ms, submission {submission * 1e3:.2f} ms "
        f"(x{submission / baseline:.1f}: encryption, hash chain, concurrency check, inline projections)"
    )
    print(
        f"[{name}] read over HTTP: /healthz {reads['healthz'] * 1e3:.2f} ms, published list "
        f"{reads['list'] * 1e3:.2f} ms (x{reads['list'] / reads['healthz']:.1f}), 304 "
        f"{reads['list_304'] * 1e3:.2f} ms (x{reads['list_304'] / reads['healthz']:.1f})"
    )


async def _postgres_url() -> str | None:
    name = f"comments_bench_{uuid.uuid4().hex[:8]}"
    dsn = PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN.rpartition("/")[0] + "/" + name


async def _drop(url: str) -> None:
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _main() -> None:
    print(f"bench_core: {WRITES} writes and {READS} reads per measurement; figures are means per operation")
    with tempfile.TemporaryDirectory() as folder:
        await _run("sqlite", f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
    pg = await _postgres_url()
    if pg is None:
        print("[postgres] skipped: no server at", PG_ADMIN)
        return
    try:
        await _run("postgres", pg)
    finally:
        await _drop(pg)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
