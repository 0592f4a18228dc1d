"""The composition root's product: the dependencies every use case takes, built once by create_app."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from service.changes import ChangeFeed
from service.crypto import Keyring, Vault
from service.db import Database, utcnow
from service.flags import Screener
from service.metrics import Metrics
from service.pagecache import PageCache
from service.renders import RenderCache
from service.settings import Settings
from service.subscribers import Subscribers


@dataclass(slots=True, kw_only=True)
class Runtime:
    settings: Settings
    db: Database
    keyring: Keyring
    vault: Vault
    # CAPTCHA images and sounds are CPU-bound (PIL, wave): they run here, never on the event loop.
    renderer: ThreadPoolExecutor
    # What readers' pages show of each article, kept in memory and told of changes; it clears `pages` on a rebuild.
    changes: ChangeFeed
    screener: Screener = field(default_factory=Screener)
    metrics: Metrics = field(default_factory=Metrics)
    pages: PageCache = field(default_factory=PageCache)
    renders: RenderCache = field(default_factory=RenderCache)
    subscribers: Subscribers = field(default_factory=Subscribers)
    clock: Callable[[], datetime] = utcnow
