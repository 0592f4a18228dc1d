"""Serving: one process (aiohttp's run_app), or N worker processes on one port under gunicorn's supervisor.

With `--workers N` gunicorn's master binds the port and forks N aiohttp workers (aiohttp's own GunicornWebWorker);
it restarts a worker that dies and stops them all gracefully on SIGTERM or SIGINT. We use gunicorn rather than
forking with SO_REUSEPORT ourselves: a supervisor that restarts, reaps and signals correctly is exactly the plumbing
a maintained library does better. Each worker builds its own application, and so its own connection pool, after
the fork: nothing is shared between them but the database, as the design's stateless processes require.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from gunicorn.app.base import BaseApplication

from service.settings import Settings

GRACEFUL_SECONDS = 10


def url_of(settings: Settings) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}/"


def serve(settings: Settings, app_factory: Callable[[Settings], web.Application], *, workers: int = 1) -> None:
    """Serve until stopped; the line `serving on URL` is printed once the port answers."""
    url = url_of(settings)
    if workers == 1:
        # aiohttp calls `print` once the socket is bound: the line appears only when the URL really answers.
        web.run_app(
            app_factory(settings),
            host=settings.host,
            port=settings.port,
            shutdown_timeout=GRACEFUL_SECONDS,
            access_log=None,
            print=lambda _banner: print(f"serving on {url} (Ctrl+C to stop)", flush=True),
        )
        return
    Supervisor(settings, app_factory, workers, url).run()


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
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host

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

    def load(self) -> web.Application:
        # Called in each worker after the fork (no preload): every worker opens its own pool in cleanup_ctx.
        return self.app_factory(self.settings)
