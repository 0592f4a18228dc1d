"""The composition root's product: what every handler needs, under one typed application key."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from service.auth import Principal
from service.crypto import Keyring, Vault
from service.db import Database, utcnow
from service.flags import Screener
from service.settings import Settings
from service.web.metrics import Metrics
from service.web.pagecache import PageCache


@dataclass(slots=True, kw_only=True)
class Runtime:
    settings: Settings
    db: Database
    keyring: Keyring
    vault: Vault
    # CAPTCHA images and sounds are CPU-bound (PIL, wave): they run here, never on the event loop.
    renderer: ThreadPoolExecutor
    screener: Screener = field(default_factory=Screener)
    metrics: Metrics = field(default_factory=Metrics)
    pages: PageCache = field(default_factory=PageCache)
    clock: Callable[[], datetime] = utcnow


runtime_key = web.AppKey("runtime", Runtime)
request_id_key = web.RequestKey("request_id", str)
principal_key = web.RequestKey("principal", Principal)


def runtime(request: web.Request) -> Runtime:
    return request.app[runtime_key]
