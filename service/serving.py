"""Serving: one process on aiohttp's loop, or N worker processes on one port under gunicorn's supervisor.

With `--workers N` gunicorn's master binds the port and forks N aiohttp workers (aiohttp's own GunicornWebWorker);
it restarts a worker that dies and stops them all gracefully on SIGTERM or SIGINT. We use gunicorn rather than
forking with SO_REUSEPORT ourselves: a supervisor that restarts, reaps and signals correctly is exactly the plumbing
a maintained library does better. Each worker builds its own application, and so its own connection pool, after
the fork: nothing is shared between them but the database, as the design's stateless processes require.

Either way connections are served by service/web/connections.py's `Runner` (time limits for slow clients, a cap on
connections, JSON answers to unparseable requests) rather than aiohttp's plain AppRunner: in one process we run it
ourselves instead of `web.run_app`; in a worker, `load` hands aiohttp's GunicornWebWorker a coroutine that returns
it, which that worker serves in place of building its own (aiohttp/worker.py accepts an AppRunner that way).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web
from gunicorn.app.base import BaseApplication

from service.settings import Settings
from service.web.connections import Runner

GRACEFUL_SECONDS = 10


def host_of(settings: Settings) -> str:
    """The listen host as a URL or a bind address writes it: an IPv6 address in brackets."""
    return f"[{settings.host}]" if ":" in settings.host else settings.host


def url_of(settings: Settings) -> str:
    return f"http://{host_of(settings)}:{settings.port}/"


def serve(settings: Settings, app_factory: Callable[[Settings], web.Application], *, workers: int = 1) -> None:
    """Serve until stopped; the line `serving on URL` is printed once the port answers."""
    url = url_of(settings)
    if workers == 1:
        asyncio.run(serve_one(settings, app_factory, url))
        return
    Supervisor(settings, app_factory, workers, url).run()


async def serve_one(settings: Settings, app_factory: Callable[[Settings], web.Application], url: str) -> None:
    """One process until SIGTERM or SIGINT, then a graceful stop (requests in flight get GRACEFUL_SECONDS)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    runner = Runner(app_factory(settings), settings, shutdown_timeout=GRACEFUL_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        # Printed once the socket listens: the line appears only when the URL really answers.
        print(f"serving on {url} (Ctrl+C to stop)", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


class Supervisor(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn configured from our settings, not from its command line or a config file."""

    def __init__(
        self, settings: Settings, app_factory: Callable[[Settings], web.Application], workers: int, url: str
    ) -> None:
        self.settings = settings
        self.app_factory = app_factory
        self.workers = workers
        self.url = url
        super().__init__()

    def load_config(self) -> None:
        host = host_of(self.settings)

        def when_ready(_server: Any) -> None:
            print(f"serving on {self.url} with {self.workers} workers (Ctrl+C to stop)", flush=True)

        options: dict[str, Any] = {
            "bind": f"{host}:{self.settings.port}",
            "workers": self.workers,
            "worker_class": "aiohttp.GunicornWebWorker",
            "graceful_timeout": GRACEFUL_SECONDS,
            # Our own middleware writes the JSON access log; gunicorn's goes to nothing.
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "comments-service",
            "when_ready": when_ready,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[[], Any]:
        # Called in each worker after the fork (no preload): every worker opens its own pool in cleanup_ctx.
        settings, app_factory = self.settings, self.app_factory

        async def runner() -> web.AppRunner:
            # Like aiohttp's own worker runner, it leaves the worker 95% of gunicorn's graceful timeout.
            return Runner(app_factory(settings), settings, shutdown_timeout=GRACEFUL_SECONDS * 0.95)

        return runner
