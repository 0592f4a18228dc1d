"""Engines for both backends: SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE for writes; reads autocommit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

SQLITE_PREFIX = "sqlite+aiosqlite:///"
BUSY_TIMEOUT_MS = 30_000
# No pre-ping (a round trip per checkout): a connection the server closed (a restart, a terminated backend) is
# dropped at checkout from its socket's state alone; recycling bounds how long an idle connection may sit.
POOL_RECYCLE_SECONDS = 1800


@dataclass(frozen=True, slots=True)
class Database:
    """One pool, three faces: `reader` (one statement, one snapshot: no BEGIN), `engine` (transactions: a
    consistent snapshot across statements) and `writer`, whose transactions take the write lock up front.

    `written` holds callbacks run after each committed `write()`: this process's change feed learns from them
    that it must catch up before it answers again (a process sees its own writes at once).
    """

    engine: AsyncEngine
    writer: AsyncEngine
    reader: AsyncEngine
    written: list[Callable[[], None]] = field(default_factory=list, compare=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.writer.begin() as conn:
            yield conn
        for callback in self.written:
            callback()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """Statements that each stand alone: every one sees a committed state, two may see different ones."""
        async with self.reader.connect() as conn:
            yield conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction whose statements all see one committed state (exports, histories, audits)."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
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
        reader = engine.execution_options(autocommit_read=True)
    else:
        engine = create_async_engine(url, pool_recycle=POOL_RECYCLE_SECONDS, hide_parameters=True, **engine_options)
        _drop_closed_connections(engine)
        # asyncpg in autocommit sends the statement alone: no BEGIN before it, no ROLLBACK after.
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Database(engine=engine, writer=engine.execution_options(take_write_lock=True), reader=reader)


def _drop_closed_connections(engine: AsyncEngine) -> None:
    # What pool_pre_ping did with a round trip, told by asyncpg's own state: it sees the server close the socket.
    # The pool then tries another connection (or opens one). A connection that drops mid-statement still fails
    # that one statement, as it did with the pre-ping: the error middleware answers 500 and logs it.
    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")


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
        options = conn.get_execution_options()
        if options.get("autocommit_read", False):
            return  # a lone SELECT is atomic in autocommit: a BEGIN would only add a round trip to the thread
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("take_write_lock", False) else "BEGIN")


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
