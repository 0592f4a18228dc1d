"""The aiohttp application: create_app(settings) wires the database, keys and routes; nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from aiohttp import web

from service import flags, maintenance, seals
from service.changes import ChangeFeed
from service.committer import Committer
from service.crypto import Keyring, Vault, master_secret
from service.db import connect, utcnow
from service.pagecache import PageCache
from service.runtime import Runtime
from service.settings import Settings
from service.subscribers import Subscribers
from service.web import (
    asset_routes,
    audit_routes,
    captcha_routes,
    comment_routes,
    console_routes,
    demo_routes,
    erasure_routes,
    moderator_routes,
    ops_routes,
    queue_routes,
)
from service.web.middlewares import cors_and_headers, errors, request_context
from service.web.proxies import behind_proxies
from service.web.runtime import runtime_key, seal_key


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> web.Application:
    app = web.Application(
        middlewares=[behind_proxies, request_context, cors_and_headers, errors],
        client_max_size=settings.max_body_bytes,
    )
    secret = master_secret(settings.secret_key, settings.data_dir)
    # Word lists compile once, here, so that a bad list stops the start rather than a submission.
    screener = flags.screener_for(settings.banned_words, settings.suspect_words)
    keyring = Keyring.from_secret(secret)
    app[seal_key] = signing = seals.SealKey.from_secret(secret)
    # Side effects (webhooks, live updates, alerts) register here; none does yet. See service/subscribers.py.
    subscribers = Subscribers()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        db = connect(settings.database_url)
        renderer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="captcha-render")
        pages = PageCache()
        changes = ChangeFeed(db, on_reset=pages.clear)
        changes.start()
        app[runtime_key] = Runtime(
            settings=settings,
            db=db,
            keyring=keyring,
            vault=Vault(keyring),
            renderer=renderer,
            changes=changes,
            pages=pages,
            clock=clock,
            screener=screener,
            subscribers=subscribers,
        )
        housekeeping = asyncio.create_task(maintenance.run_forever(db, clock), name="housekeeping")
        sealing = asyncio.create_task(
            seals.run_forever(
                db,
                signing,
                clock,
                every_events=settings.seal_every_events,
                every_minutes=settings.seal_every_minutes,
            ),
            name="sealing",
        )
        subscribing = asyncio.create_task(subscribers.run_forever(db, app[runtime_key].vault), name="subscribers")
        # Group commit: handle() now shares a transaction with the commands arriving with it (service/committer.py).
        committing = Committer(db, app[runtime_key].vault)
        committing.start()
        yield
        for task in (housekeeping, sealing, subscribing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await committing.stop()
        await changes.stop()
        renderer.shutdown(wait=True, cancel_futures=True)
        await db.dispose()

    app.cleanup_ctx.append(resources)
    for module in (
        captcha_routes,
        comment_routes,
        queue_routes,
        moderator_routes,
        audit_routes,
        erasure_routes,
        ops_routes,
        demo_routes,
        asset_routes,
        console_routes,
    ):
        app.router.add_routes(module.routes)
    return app
