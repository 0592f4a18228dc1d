"""The change feed: each article's ETag position, count and closed flag, kept in memory and told of changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from service.db import Database
from service.projections import CHECKPOINT
from service.tables import articles, checkpoints

CHANNEL = "comment_changes"
# Bumped by a trigger (migration 0006) whenever rows of `articles` are deleted: a rebuild's swap, which puts rows
# back at the positions they had, so only this counter tells the feeds to start afresh.
RESETS = "views:resets"
# How stale another process's change may be seen here (docs/api.md, Caching): SQLite polls the checkpoint this
# often; PostgreSQL is told at once by NOTIFY and checks the checkpoint this often in case a notice was lost.
SQLITE_POLL_SECONDS = 0.05
FALLBACK_SECONDS = 1.0
RECONNECT_SECONDS = (0.1, 5.0)  # the LISTEN connection's back-off: first wait, longest wait
PING_SECONDS = 30.0  # a silent network cut shows as a failed ping on the LISTEN connection
MAX_ARTICLES = 50_000
STOP_SECONDS = 5.0

log = logging.getLogger("comments.changes")


@dataclass(frozen=True, slots=True)
class ArticleState:
    """What a reader's page shows of the article itself; `changed_position` moves whenever any of it changes."""

    changed_position: int
    published_count: int
    closed: bool


UNKNOWN = ArticleState(0, 0, False)  # no row yet: nobody commented, nothing was set


class ChangeFeed:
    """Answers `state(article_id)` from memory; learns of other processes' changes by NOTIFY (PostgreSQL) or by a
    poll of the projection checkpoint (SQLite), and of this process's own writes from `Database.written`.

    Correctness rests on two facts of the write path: projections commit in position order (appends hold the
    log's lock), and every change to an article's row moves its `changed_position` to the event's position. So
    "the rows with `changed_position` above the checkpoint last seen" is exactly what changed since, and an
    entry is replaced only by a state at least as new.
    """

    def __init__(
        self,
        db: Database,
        *,
        poll_seconds: float | None = None,
        listen: bool | None = None,
        reconnect_seconds: tuple[float, float] = RECONNECT_SECONDS,
        max_articles: int = MAX_ARTICLES,
        on_reset: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._poll_seconds = poll_seconds or (SQLITE_POLL_SECONDS if db.is_sqlite else FALLBACK_SECONDS)
        self._listen = (not db.is_sqlite) if listen is None else listen
        self._reconnect_seconds = reconnect_seconds
        self._max_articles = max_articles
        self._on_reset = on_reset
        self._states: OrderedDict[str, ArticleState] = OrderedDict()
        self._seen: int | None = None  # the checkpoint every cached state reflects; None: not read yet
        self._resets = 0
        # Bumped on every change learnt: a load that started before it may hold an older state, so it is not kept.
        self._epoch = 0
        self._writes = 0  # own committed writes counted by Database.written, and how many a catch-up covered
        self._covered = 0
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.listener_pid: int | None = None  # the LISTEN connection's server process, while connected
        self.connects = 0

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._db.written.append(self.wrote)
        self._stopping.clear()
        self._tasks.append(asyncio.create_task(self._poll_forever(), name="changes-poll"))
        if self._listen:
            self._tasks.append(asyncio.create_task(self._listen_forever(), name="changes-listen"))

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._db.written.remove(self.wrote)
        # The poll is let finish its statement rather than cancelled in it: aiosqlite's thread would otherwise
        # answer a future whose loop may be gone by then. Cancelled only if the database hangs.
        self._stopping.set()
        for task in self._tasks:
            if task.get_name() != "changes-poll":
                task.cancel()
        if self._tasks:
            _done, hanging = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            for task in hanging:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    @property
    def seen(self) -> int | None:
        """The projection checkpoint every cached state reflects; None until the first look at it."""
        return self._seen

    # --- reads ----------------------------------------------------------------------------------------------

    def wrote(self) -> None:
        """A write of this process committed: catch up before the next answer, so a writer reads its own write."""
        self._writes += 1

    async def state(self, article_id: str) -> ArticleState:
        await self._fresh()
        found = self._states.get(article_id)
        if found is not None:
            self._states.move_to_end(article_id)
            return found
        return (await self._load([article_id]))[article_id]

    async def states(self, article_ids: Sequence[str]) -> dict[str, ArticleState]:
        """Several articles at once: those not in memory cost one query together."""
        await self._fresh()
        found: dict[str, ArticleState] = {}
        missing: list[str] = []
        for article_id in article_ids:
            state = self._states.get(article_id)
            if state is None:
                missing.append(article_id)
            else:
                self._states.move_to_end(article_id)
                found[article_id] = state
        if missing:
            found.update(await self._load(missing))
        return {article_id: found[article_id] for article_id in article_ids}

    async def _load(self, article_ids: Sequence[str]) -> dict[str, ArticleState]:
        epoch = self._epoch
        async with self._db.read() as conn:
            rows = await conn.execute(_STATE.where(articles.c.article_id.in_(article_ids)))
            loaded = {str(row.article_id): _state(row) for row in rows}
        states = {article_id: loaded.get(article_id, UNKNOWN) for article_id in article_ids}
        if epoch == self._epoch:
            for article_id, state in states.items():
                cached = self._states.get(article_id)
                if cached is None or state.changed_position >= cached.changed_position:
                    self._states[article_id] = state
            while len(self._states) > self._max_articles:
                self._states.popitem(last=False)
        return states

    # --- learning of changes --------------------------------------------------------------------------------

    def saw(self, article_id: str, state: ArticleState) -> None:
        """A state read along with a page's rows: kept when at least as new as the cached one."""
        self._newer(article_id, state)

    def _learn(self, changed: Iterable[tuple[str, ArticleState]]) -> None:
        """Changes committed elsewhere: newer states replace cached ones; articles not cached are left to load
        when first asked for, and a load already under way may have read too early, so it keeps nothing."""
        self._epoch += 1
        for article_id, state in changed:
            self._newer(article_id, state)

    def _newer(self, article_id: str, state: ArticleState) -> None:
        cached = self._states.get(article_id)
        if cached is not None and state.changed_position >= cached.changed_position:
            self._states[article_id] = state

    def _forget(self, *, pages: bool) -> None:
        """Drop every cached state; `pages` too when the views were replaced (their positions did not move)."""
        self._epoch += 1
        self._states.clear()
        if pages and self._on_reset is not None:
            self._on_reset()

    async def _fresh(self) -> None:
        if self._seen is not None and self._covered == self._writes:
            return
        async with self._lock:
            if self._seen is None or self._covered != self._writes:
                await self._catch_up()

    async def catch_up(self) -> None:
        """Read the checkpoint and, when it moved, the articles changed since: what a poll or fallback does."""
        async with self._lock:
            await self._catch_up()

    async def _catch_up(self) -> None:
        writes = self._writes  # every write counted so far committed before the statements below start
        async with self._db.read() as conn:
            marks = await conn.execute(
                sa.select(checkpoints.c.name, checkpoints.c.position).where(
                    checkpoints.c.name.in_((CHECKPOINT, RESETS))
                )
            )
            found = {str(row.name): int(row.position) for row in marks}
            position, resets = found.get(CHECKPOINT, 0), found.get(RESETS, 0)
            if self._seen is None or resets != self._resets or position < self._seen:
                # First look, a rebuild's swap, or a database put back from a backup: nothing cached can be trusted.
                self._forget(pages=self._seen is not None)
            elif position > self._seen:
                rows = await conn.execute(_STATE.where(articles.c.changed_position > self._seen))
                self._learn((str(row.article_id), _state(row)) for row in rows)
        self._seen, self._resets, self._covered = position, resets, writes

    async def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.catch_up()
            except (SQLAlchemyError, OSError) as error:
                # Reads keep answering from memory meanwhile: with the database down nothing can change either.
                log.warning("the change feed could not read the checkpoint", extra={"error": type(error).__name__})
            except Exception:
                # Never let the poll die: a feed that stopped learning would serve stale states for good.
                log.exception("the change feed's poll failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)

    # --- PostgreSQL: LISTEN ---------------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        first, longest = self._reconnect_seconds
        delay = first
        while True:
            try:
                await self._listen_once()
                delay = first  # it was connected: a fresh loss starts the back-off again
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
                log.warning("the change feed's LISTEN connection failed", extra={"error": type(error).__name__})
            except Exception:
                # Whatever broke, the checkpoint check covers meanwhile; listening again is what matters.
                log.exception("the change feed's listener failed; connecting again")
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def _listen_once(self) -> None:
        """Listen until the connection is lost; every cached state is dropped first, as notices may have been
        missed while nobody listened."""
        dsn = self._db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(CHANNEL, self._on_notice)
            self._forget(pages=False)
            self.listener_pid = conn.get_server_pid()
            self.connects += 1
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                except TimeoutError:
                    await conn.fetchval("SELECT 1", timeout=10)
        finally:
            self.listener_pid = None
            conn.terminate()

    def _on_notice(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == "reset":
            self._forget(pages=True)
            return
        try:
            position, count, closed, article_id = payload.split(" ", 3)
            state = ArticleState(int(position), int(count), closed == "1")
        except ValueError:
            log.warning("an unreadable change notice was ignored")
            return
        self._learn([(article_id, state)])


_STATE = sa.select(articles.c.article_id, articles.c.changed_position, articles.c.published_count, articles.c.closed)


def _state(row: Any) -> ArticleState:
    return ArticleState(int(row.changed_position), int(row.published_count), bool(row.closed))
