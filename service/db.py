"""Engines for both backends: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE for writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_PREFIX = "sqlite+aiosqlite:///"
BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True, slots=True)
class Database:
    """One pool, two faces: `engine` for reads, `writer` whose transactions take the write lock up front."""

    engine: AsyncEngine
    writer: AsyncEngine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def connect(url: str, **engine_options: Any) -> Database:
    """Bound parameters stay out of error messages: they carry names and comment text, which logs must not."""
    if url.startswith(SQLITE_PREFIX):
        path = url[len(SQLITE_PREFIX) :].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, hide_parameters=True, **engine_options
        )
        _tune_sqlite(engine)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **engine_options)
    return Database(engine=engine, writer=engine.execution_options(take_write_lock=True))


def _tune_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling starts transactions lazily and DEFERRED; a deferred writer that
    # upgrades its lock late fails with "database is locked" instead of waiting. We issue BEGIN ourselves.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("take_write_lock", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or used right now (down, restarting, out of
    connections, locked), as opposed to a bug: a client should retry later, not report a fault."""
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError):
            return True
        return isinstance(error.orig, OSError) or "connection" in type(error.orig).__name__.lower()
    # Refused or reset connections and the pool's own timeout, raised before any statement ran.
    return isinstance(error, OSError | exc.TimeoutError | exc.DisconnectionError)


def utc(value: datetime) -> datetime:
    """Timestamps come back naive from SQLite (stored as UTC) and aware from PostgreSQL: one shape for both."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(moment: datetime) -> str:
    """A time as the API, exports and seals write it: UTC, microseconds always, a Z. Seals sign it: keep the form."""
    # isoformat, not strftime: strftime's %Y does not pad years before 1000 ("24-03-09T…") on glibc.
    return utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db(value: datetime) -> datetime:
    """SQLite drops the offset without converting, so everything is written as UTC."""
    return utc(value)
