"""Group commit: the commands that arrive together are appended together, one transaction for all of them.

Every write serialises on the log's lock, so under load each command used to wait its turn for a transaction and
a commit of its own. The committer is one task per process that owns a queue: handle() (and transact(), for the
short operational writes of a submission: limits, CAPTCHA) puts its work there and awaits a future; the task takes
whatever is waiting (up to `max_batch`), runs it through application.run_batch (each command decided after the
ones before it; a refusal fails no other) and answers every caller with its own outcome or error. Work is taken in
arrival order, so commands on one stream apply in the order they came. On SQLite it also makes the process's
writers queue here rather than poll for the database's one write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from service import application
from service.application import Outcome, Request, Work
from service.crypto import Vault
from service.db import Database

MAX_BATCH = 100
LINGER_SECONDS = 0.002
"""How long a batch that already has company waits for more; a lone command never waits."""
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    item: Request | Work
    answer: asyncio.Future[Any]


class Committer:
    """Runs handle()'s commands and transact()'s work for one database in batches; start() routes them here, stop()
    back. A guard or a work runs inside the committer's batch: it must never call handle() or transact() itself,
    which would wait for a batch that cannot start before it returns."""

    def __init__(
        self, db: Database, vault: Vault, *, max_batch: int = MAX_BATCH, linger: float = LINGER_SECONDS
    ) -> None:
        self.db = db
        self.vault = vault
        self.max_batch = max_batch
        self.linger = linger
        self.batches = 0
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="committer")
        application.route_through(self.db, self)

    async def stop(self) -> None:
        """Answer everything queued, then end; later commands go straight to the database again."""
        application.route_through(self.db, None)
        if self._task is None:
            return
        self._queue.put_nowait(None)
        try:
            await self._task
        finally:
            self._task = None

    async def handle(self, request: Request) -> Outcome:
        outcome: Outcome = await self._submit(request)
        return outcome

    async def transact(self, work: Work) -> Any:
        return await self._submit(work)

    async def _submit(self, item: Request | Work) -> Any:
        if self._task is None or self._task.done() or asyncio.get_running_loop() is not self._loop:
            # Stopped, or called from another event loop (a thread, a test's own loop): no company to wait for.
            [result] = await application.run_batch(self.db, self.vault, [item])
            return _answer(result)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(item, answer))
        # A caller cancelled while waiting cancels `answer`: the committer then skips or ignores the job.
        return await answer

    async def _run(self) -> None:
        jobs: list[_Job] = []
        try:
            stopping = False
            while not stopping:
                first = await self._queue.get()
                if first is None:
                    break
                jobs = [first]
                stopping = await self._gather(jobs)
                live = [job for job in jobs if not job.answer.done()]
                if live:
                    await self._commit(live)
                jobs = []
        finally:
            # Cancelled (the loop is closing): no caller may wait for an answer that will never come.
            while not self._queue.empty():
                if (job := self._queue.get_nowait()) is not None:
                    jobs.append(job)
            for job in jobs:
                job.answer.cancel()

    async def _gather(self, jobs: list[_Job]) -> bool:
        """Add what is waiting to `jobs`; with company already there, wait up to `linger` for more. True on stop."""
        deadline: float | None = None
        while len(jobs) < self.max_batch:
            if not self._queue.empty():
                job = self._queue.get_nowait()
            elif len(jobs) > 1 and self.linger > 0:
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + self.linger
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
                break
            if job is None:
                return True
            jobs.append(job)
        return False

    async def _commit(self, jobs: list[_Job]) -> None:
        self.batches += 1
        try:
            results = await application.run_batch(self.db, self.vault, [job.item for job in jobs])
        except Exception as error:  # run_batch answers per slot: this is a bug, not a refusal
            log.exception("a batch of %d commands failed", len(jobs))
            results = [error for _ in jobs]
        for job, result in zip(jobs, results, strict=True):
            if job.answer.done():
                continue  # its caller went away meanwhile
            if isinstance(result, Exception):
                job.answer.set_exception(result)
            else:
                job.answer.set_result(result)


def _answer(result: Any) -> Any:
    if isinstance(result, Exception):
        raise result
    return result


@contextlib.asynccontextmanager
async def running(db: Database, vault: Vault) -> AsyncIterator[Committer]:
    """A started committer for `db`, stopped (its queue answered) on the way out."""
    committer = Committer(db, vault)
    committer.start()
    try:
        yield committer
    finally:
        await committer.stop()
