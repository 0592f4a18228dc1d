"""Guard: one client connection held to the time limits of its phase, and the contract's answer to a request that is
not HTTP (why this is our own code: service/web/connections.py)."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, cast

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong
from aiohttp.streams import StreamReader

from service.settings import Settings
from service.web.errors import ApiError, error_response


class Counts(Protocol):
    def closed(self, reason: str) -> None: ...


class Connections(Protocol):
    """What a guard needs of the process's connection manager (service/web/connections.py: an aiohttp Server),
    named here so that the two modules do not import each other."""

    loop: asyncio.AbstractEventLoop

    @property
    def tally(self) -> Counts: ...

    @property
    def limits(self) -> Limits: ...

    def admit(self, guard: Guard) -> bool: ...

    def waiting(self, guard: Guard, *, renew: bool) -> None: ...

    def forget(self, guard: Guard) -> None: ...

    def release(self) -> None: ...


# What the usual middlewares add to every answer; an answer from `handle_error` never passes through them.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Connection": "close",
}


class Phase(enum.Enum):
    HEAD = "head"  # the request line and headers are arriving (or nothing yet on a new connection)
    BODY = "body"  # the head is in, the body is arriving
    BUSY = "busy"  # the request is in and we are answering: no clock, that time is ours, not the client's
    IDLE = "idle"  # answered, waiting for the next request on a kept-alive connection


@dataclass(frozen=True, slots=True)
class Limits:
    header: float
    body: float
    keepalive: float

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.header_timeout, settings.body_timeout, settings.keepalive_timeout)

    def of_phase(self, phase: Phase) -> float | None:
        return {Phase.HEAD: self.header, Phase.BODY: self.body, Phase.IDLE: self.keepalive}.get(phase)


class Guard(web.RequestHandler):
    """One client connection, held to the time limits of the phase it is in."""

    __slots__ = (
        "_admitted",
        "_answering",
        "_closing",
        "_connections",
        "_deadline",
        "_heard",
        "_held",
        "_payload",
        "_phase",
        "_timer",
    )

    def __init__(self, manager: Connections, **kwargs: Any) -> None:
        super().__init__(cast(web.Server, manager), **kwargs)  # the manager is the aiohttp Server that made us
        self._connections = manager
        self._phase = Phase.HEAD
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._heard = 0  # bytes of the head in progress before its first line break, or -1 once that line ended
        self._answering = False
        self._closing = False  # the answer under way is the last on this connection
        self._payload: StreamReader | None = None
        self._held = False  # counted in `Connections.held`
        self._admitted = False

    # --- the connection ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._connections.admit(self):
            cast(asyncio.Transport, transport).abort()
            return
        self._held = self._admitted = True
        super().connection_made(transport)
        self._enter(Phase.HEAD)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return  # refused at once by `admit`: aiohttp never saw it
        self._release()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data:
            if self._phase is Phase.IDLE:
                self._enter(Phase.HEAD)
            if self._phase is Phase.HEAD and self._heard >= 0:
                end = data.find(b"\n")
                self._heard = -1 if end >= 0 and self._heard + end <= self.max_line_size else self._heard + len(data)
        super().data_received(data)

    def shut(self, reason: str) -> None:
        """Closes the connection now, dropping anything unsent: a client that does not read gets no grace."""
        self._release()
        self._connections.tally.closed(reason)
        transport = self.transport
        self.force_close()
        if transport is not None:
            transport.abort()

    def evict(self) -> None:
        """Makes room for a new connection: this one has waited on its client longest."""
        if self._phase is Phase.BODY and self._answering:
            self._cut_body("evicted", "the body was too slow to arrive while the server was full: send it again")
        else:
            self.shut("evicted")

    def _cut_body(self, reason: str, message: str) -> None:
        """The handler waiting for this body gets a 408 to answer in the contract's format; then the connection
        closes. Its place is free at once."""
        payload = self._payload
        assert payload is not None
        self._release()
        self._connections.tally.closed(reason)
        payload.set_exception(ApiError(408, "request_timeout", message))
        payload.feed_eof()
        self._closing = True
        self.close()

    def _release(self) -> None:
        self._deadline = None
        self._connections.forget(self)
        if self._held:
            self._held = False
            self._connections.release()

    # --- the phases -------------------------------------------------------------------------------------------

    def head_received(self, payload: StreamReader) -> None:
        """Called by `Connections` as aiohttp turns a complete head into a request."""
        self._answering = True
        self._payload = payload
        if payload.is_eof():
            self._enter(Phase.BUSY)
        else:
            self._enter(Phase.BODY)
            payload.on_eof(self._body_received)

    def _body_received(self) -> None:
        if self._phase is Phase.BODY:
            self._enter(Phase.BUSY if self._answering else Phase.IDLE)

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        payload = self._payload
        if payload is not None and payload.exception() is not None and not self._closing:
            # The body's chunks or compression were broken (the handler has answered 400): the rest of the
            # connection's bytes cannot be trusted, and aiohttp would log a traceback reading them.
            self._connections.tally.closed("bad_request")
            self._closing = True
            self.close()
        if self._closing:
            resp.force_close()  # says `Connection: close`
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._answered()

    def _answered(self) -> None:
        self._answering = False
        payload = self._payload
        self._payload = None
        if self._closing and payload is not None and not payload.is_eof():
            payload.feed_eof()  # nothing more is read of it: aiohttp's lingering read would meet its error
        if self._phase is Phase.BODY and payload is not None and not payload.is_eof() and payload.exception() is None:
            return  # aiohttp reads what is left of a body nobody read; the body's clock still runs
        if self._phase in (Phase.BODY, Phase.BUSY):
            self._enter(Phase.IDLE)

    def _enter(self, phase: Phase) -> None:
        previous, self._phase = self._phase, phase
        if not self._held:
            return  # closing: no clock, no place in the queue
        if phase is Phase.IDLE:
            self._heard = 0
        if phase is Phase.BUSY:
            self._connections.forget(self)
        else:
            # A head after an idle spell continues the same wait; a body, or idleness, starts a new one.
            self._connections.waiting(self, renew=not (phase is Phase.HEAD and previous is Phase.IDLE))
        limit = self._connections.limits.of_phase(phase)
        if limit is None:
            self._deadline = None  # a pending timer finds no deadline and lapses
            return
        loop = self._connections.loop
        self._deadline = loop.time() + limit
        # One timer per connection, moved only when the new deadline is sooner: cheaper than one per phase.
        if self._timer is None or self._timer.when() > self._deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(self._deadline, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._deadline is None or self.transport is None:
            return
        loop = self._connections.loop
        if loop.time() < self._deadline:
            self._timer = loop.call_at(self._deadline, self._expire)
            return
        self._deadline = None
        if self._phase is Phase.BODY and self._answering:
            limit = self._connections.limits.body
            self._cut_body("body_timeout", f"the request's body did not arrive within {limit:g} seconds")
        elif self._phase is Phase.BODY:
            self.shut("body_timeout")
        elif self._phase is Phase.HEAD and self._heard != 0:
            self.shut("header_timeout")
        else:
            # Nothing sent since the connection opened or since the last answer: a browser's spare connection.
            self.shut("idle")

    # --- answers aiohttp writes itself --------------------------------------------------------------------------

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """The contract's error body for a request aiohttp could not parse (or a fault past every middleware).

        aiohttp's own answer is plain text quoting the request and logs a traceback per request; we count bad
        requests instead (one warning per interval) and never quote what was sent.
        """
        if status >= 500:
            self.log_exception("error answering a request", exc_info=exc)
        else:
            self._connections.tally.closed("bad_request")
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was already under way: the connection is dropped")
        status, code, text = self._refusal(status, exc)
        response = error_response(status, code, text, headers=HEADERS)
        response.force_close()
        return response

    def _refusal(self, status: int, exc: BaseException | None) -> tuple[int, str, str]:
        if isinstance(exc, LineTooLong):
            if self._heard >= 0:  # the first line break never came within the limit: the request line is too long
                return 414, "uri_too_long", f"the request line is longer than {self.max_line_size} bytes"
            return 431, "headers_too_large", f"a request header is longer than {self.max_field_size} bytes"
        if isinstance(exc, BadHttpMessage) and exc.message.startswith("Too many headers"):
            return 431, "headers_too_large", f"a request may have at most {self.max_headers} headers"
        if status == 400:
            return 400, "bad_request", "the request is not well-formed HTTP/1.1"
        if status == 500:
            return 500, "internal_error", "something went wrong on our side; it has been logged"
        try:
            return status, "http_error", HTTPStatus(status).phrase
        except ValueError:
            return status, "http_error", "error"
