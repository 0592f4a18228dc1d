"""Scratch databases for one run (a SQLite file, or PostgreSQL's comments_bench_<pid>) and the bench's own engine."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

PG_ADMIN = os.environ.get("COMMENTS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
BUSY_TIMEOUT_MS = 30_000


class Unavailable(Exception):
    """The backend cannot be reached: its rows are skipped, with this message."""


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@contextlib.asynccontextmanager
async def scratch(backend: str, folder: Path) -> AsyncIterator[str]:
    """The URL of an empty database for this run, dropped when the block ends."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    name = f"comments_bench_{os.getpid()}"
    try:
        admin = await asyncpg.connect(_dsn(PG_ADMIN), timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        raise Unavailable(f"PostgreSQL unreachable at {PG_ADMIN}: {error}") from error
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield PG_ADMIN.rpartition("/")[0] + "/" + name
    finally:
        admin = await asyncpg.connect(_dsn(PG_ADMIN), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An engine set up as the service sets up its own (WAL, busy timeout, BEGIN IMMEDIATE on SQLite): the
    baselines then pay what the service pays for a transaction, and nothing more."""
    if not url.startswith("sqlite"):
        return create_async_engine(url, pool_size=pool_size)
    result = create_async_engine(url, pool_size=pool_size, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(result.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(result.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return result
