"""Connections: a process's client connections, capped, each held to time limits (service/web/guard.py), counted.

Why this is our own code: aiohttp has one clock per connection, `keepalive_timeout`, which closes a connection
still waiting for a complete request head; nothing bounds the time a request's body takes to arrive or how many
connections a process holds, nothing counts what was closed or why, and a request it cannot parse is answered by
`RequestHandler.handle_error` with a plain-text 400 that echoes the start of the request, outside every middleware.
aiohttp offers no hook for any of it, so we subclass its connection handler (`RequestHandler`, as `Guard`), the
`Server` that makes one per connection (`Connections`), and the `AppRunner` that makes the `Server` (`Runner`);
`serve` uses `Runner` in one process and in each of gunicorn's workers.

Private surface, kept to what has no public way round: `AppRunner._make_server` (see `Runner`) and asyncio's
message for an accept that found no file descriptor (see `Runner._loop_error`). We also override or call methods
aiohttp does not document: `RequestHandler.handle_error`, `.finish_response`, `.force_close`, `.close`,
`.max_line_size`, `Server.request_handler`, `.request_factory`, `.handler_cancellation`, and `StreamReader.on_eof`,
`.is_eof`, `.exception`, `.set_exception`, `.feed_eof`. tests/unit/test_connections.py pins each of them, so an
aiohttp upgrade that moves one fails there first.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader

from service.metrics import Metrics
from service.settings import Settings
from service.web.guard import Guard, Limits
from service.web.runtime import runtime_key

log = logging.getLogger("comments.connections")

REPORT_SECONDS = 10.0
# Files a process needs besides client sockets: database connections, logs, static files, the CAPTCHA voices.
FD_RESERVE = 64
# One wake-up of the listening socket accepts up to this many connections before any of them reaches `admit`; a
# process may hold this many over its cap for a moment (GRACE_SECONDS), and its file budget allows for them.
BACKLOG = 128
# Over the cap, a new connection has this long to send its request before the oldest waiting ones make room.
GRACE_SECONDS = 1.0
# asyncio's words (selector_events.py) when accept() fails for lack of a file descriptor: it logs them for every
# attempt, and retries each second as many times as it failed, which filled a log with tens of thousands of lines.
ACCEPT_FAILED = "socket.accept() out of system resource"

RequestFactory = Callable[
    [RawRequestMessage, StreamReader, web.RequestHandler, AbstractStreamWriter, "asyncio.Task[None]"], web.BaseRequest
]


class Tally:
    """Closed connections, counted into the metrics; those not routine also into one warning line per interval."""

    def __init__(self, metrics: Metrics, loop: asyncio.AbstractEventLoop, interval: float = REPORT_SECONDS) -> None:
        self.metrics = metrics
        self.loop = loop
        self.interval = interval
        self.pending: Counter[str] = Counter()
        self.timer: asyncio.TimerHandle | None = None

    def closed(self, reason: str) -> None:
        self.metrics.connections_closed[reason] += 1
        if reason != "idle":
            self._note(reason)

    def accept_failed(self) -> None:
        self.metrics.accept_failures += 1
        self._note("accept_failed")

    def held(self, count: int) -> None:
        self.metrics.connections_open = count

    def _note(self, reason: str) -> None:
        self.pending[reason] += 1
        if self.timer is None:
            self.timer = self.loop.call_later(self.interval, self.report)

    def report(self) -> None:
        """Writes the warning for what was noted since the last one, if anything was."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.pending:
            return
        counts = dict(sorted(self.pending.items()))
        self.pending.clear()
        log.warning(
            "slow or abusive clients in the last %g s: %s; %d connections open",
            self.interval,
            ", ".join(f"{count} {reason}" for reason, count in counts.items()),
            self.metrics.connections_open,
            extra={"closed": counts, "open": self.metrics.connections_open},
        )


class Connections(web.Server):
    """aiohttp's Server making a `Guard` per connection, at most `cap` at once in this process.

    Over the cap, the connections that have waited longest on their clients (for a head, a body, or the next
    request) make room for the new ones: a slow client holds a place only until someone else needs it. The new
    ones get GRACE_SECONDS to send their requests first, up to BACKLOG of them; past that the oldest waiting one
    makes room at once. When no connection is waiting on its client, every place is busy answering, and a new
    connection is closed at once.
    """

    def __init__(
        self,
        handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        *,
        request_factory: RequestFactory,
        handler_cancellation: bool,
        loop: asyncio.AbstractEventLoop,
        limits: Limits,
        cap: int,
        tally: Tally,
    ) -> None:
        self._factory = request_factory
        super().__init__(handler, request_factory=self._request, handler_cancellation=handler_cancellation, loop=loop)
        self.loop = loop
        self.limits = limits
        self.cap = cap
        self.tally = tally
        self.held = 0
        self._waiting: dict[Guard, None] = {}  # in the order they began waiting: the first is the oldest
        self._trim: asyncio.TimerHandle | None = None
        self._options: dict[str, Any] = {
            # aiohttp's own clock stays, as a backstop that always rings after ours.
            "keepalive_timeout": limits.header + limits.keepalive + 1,
            "access_log": None,  # our middleware writes the access log
        }

    def __call__(self) -> Guard:
        return Guard(self, loop=self.loop, **self._options)

    def _request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: web.RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        if isinstance(protocol, Guard):
            protocol.head_received(payload)
        return self._factory(message, payload, protocol, writer, task)

    def admit(self, guard: Guard) -> bool:
        if self.held >= self.cap:
            if not self._waiting:
                self.tally.closed("over_capacity")
                return False
            if self.held >= self.cap + BACKLOG:
                next(iter(self._waiting)).evict()
            elif self._trim is None:
                self._trim = self.loop.call_later(GRACE_SECONDS, self.trim)
        self.held += 1
        self.tally.held(self.held)
        return True

    def trim(self) -> None:
        """Back to the cap, by closing the connections that have waited longest on their clients."""
        self._trim = None
        while self.held > self.cap and self._waiting:
            next(iter(self._waiting)).evict()

    def waiting(self, guard: Guard, *, renew: bool) -> None:
        if renew:
            self._waiting.pop(guard, None)
        if guard not in self._waiting:
            self._waiting[guard] = None

    def forget(self, guard: Guard) -> None:
        self._waiting.pop(guard, None)

    def release(self) -> None:
        self.held -= 1
        self.tally.held(self.held)

    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - aiohttp's signature
        if self._trim is not None:
            self._trim.cancel()
        await super().shutdown(timeout)


def connection_cap(wanted: int) -> int:
    """`wanted`, or fewer if the open-file limit cannot hold that many sockets besides the process's own files.

    The soft limit is raised towards the hard one first, as far as the cap needs.
    """
    needed = wanted + FD_RESERVE + BACKLOG
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        if raised > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
                soft = raised
            except (ValueError, OSError):
                pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    cap = max(1, soft - FD_RESERVE - BACKLOG)
    log.warning(
        "COMMENTS_MAX_CONNECTIONS=%d does not fit the open-file limit of %d: holding at most %d connections",
        wanted,
        soft,
        cap,
        extra={"wanted": wanted, "file_limit": soft, "cap": cap},
    )
    return cap


class Runner(web.AppRunner):
    """An AppRunner whose Server makes `Guard`s: `serve` in one process, and each gunicorn worker, use it."""

    def __init__(self, app: web.Application, settings: Settings, *, shutdown_timeout: float) -> None:
        # No access log of aiohttp's: our middleware writes one, with the request id.
        super().__init__(app, shutdown_timeout=shutdown_timeout, access_log=None)
        self.settings = settings
        self.tally: Tally | None = None
        self._previous: Any = None

    async def setup(self) -> None:
        await super().setup()
        loop = asyncio.get_running_loop()
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self._loop_error)

    async def _make_server(self) -> web.Server:
        # Private: AppRunner._make_server runs the application's startup and returns aiohttp's Server for it, and
        # nothing public chooses the class of the connection handler. We keep that Server's request handler and
        # factory and serve them through `Connections`.
        plain = await super()._make_server()
        loop = asyncio.get_running_loop()
        rt = self.app.get(runtime_key)
        self.tally = Tally(rt.metrics if rt is not None else Metrics(), loop)
        return Connections(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=loop,
            limits=Limits.of(self.settings),
            cap=connection_cap(self.settings.max_connections),
            tally=self.tally,
        )

    async def cleanup(self) -> None:
        try:
            await super().cleanup()
        finally:
            if self.tally is not None:
                self.tally.report()
            asyncio.get_running_loop().set_exception_handler(self._previous)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED and self.tally is not None:
            # Counted, and reported once per interval, instead of a traceback per attempt.
            self.tally.accept_failed()
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)
