"""Shared fixtures: real SQLite and real PostgreSQL databases, migrated once and cloned per module or test."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from hypothesis import HealthCheck, settings

from service import migrate
from service.crypto import Keyring, Vault
from service.db import Database, connect

# Property tests are deterministic (a fixed seed per test) and never timed: on two busy cores an example can take far
# longer than Hypothesis' 200 ms deadline, and a flaky failure blocks every later submission.
settings.register_profile(
    "project", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("project")

PG_URL = os.environ.get("COMMENTS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
TEST_SECRET = "test-secret-key-that-is-long-enough-for-the-rules"
# The longest any test waits for another process's change to show (the documented bound is 0.1 s on SQLite and the
# NOTIFY latency on PostgreSQL, 1 s through the fallback): generous, because the machine running tests may be busy.
SETTLE_SECONDS = 10.0
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


def _pg_reachable() -> bool:
    parts = urlsplit(PG_URL.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    db = connect(url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.dispose()


class Databases:
    """Makes migrated databases quickly: migrations run once per backend, then each new one is a copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg_template: str | None = None
        self.sqlite_template: Path | None = None
        self.created: list[str] = []

    def new(self, backend: str) -> str:
        if backend == "sqlite":
            return self._new_sqlite()
        return self._new_postgres()

    def _new_sqlite(self) -> str:
        if self.sqlite_template is None:
            template = self.root / "template.db"
            asyncio.run(_migrate(f"sqlite+aiosqlite:///{template}"))
            self.sqlite_template = template
        path = self.root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"

    def _new_postgres(self) -> str:
        if not _pg_reachable():
            message = f"PostgreSQL is not reachable at {PG_URL}: PostgreSQL tests skipped"
            if os.environ.get("CI") == "true":
                pytest.fail(message + " (CI=true requires it)")
            pytest.skip(message)
        if self.pg_template is None:
            name = f"comments_template_{os.getpid()}"
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            asyncio.run(_admin(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"))
            self.created.append(name)
            asyncio.run(_migrate(_with_database(PG_URL, name)))
            self.pg_template = name
        name = f"comments_test_{uuid.uuid4().hex[:16]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"'))
        self.created.append(name)
        return _with_database(PG_URL, name)

    def drop_all(self) -> None:
        if not self.created:
            return

        async def drop() -> None:
            for name in reversed(self.created):
                await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        asyncio.run(drop())


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    made = Databases(tmp_path_factory.mktemp("databases"))
    yield made
    made.drop_all()


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, databases: Databases) -> str:
    """A migrated database shared by one test module: tests use their own ids and never assume it empty."""
    return databases.new(request.param)


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, databases: Databases) -> str:
    """A migrated database of the test's own, for tests that need the whole log to themselves."""
    return databases.new(request.param)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = connect(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def fresh_db(fresh_database_url: str) -> AsyncIterator[Database]:
    database = connect(fresh_database_url)
    yield database
    await database.dispose()


@pytest.fixture
def vault() -> Vault:
    return Vault(Keyring.from_secret(TEST_SECRET))


async def eventually(probe: Callable[[], Awaitable[bool]], seconds: float = SETTLE_SECONDS) -> bool:
    """Whether `probe` comes true within `seconds`, asking every 10 ms: a bounded wait, never a fixed sleep."""
    deadline = time.monotonic() + seconds
    while True:
        if await probe():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
