"""The aiohttp application: create_app(settings) wires the database, keys and routes; nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from aiohttp import web

from service import maintenance
from service.crypto import Keyring, Vault, master_secret
from service.db import connect, utcnow
from service.settings import Settings
from service.web import assets, audit, demo, moderation, ops, public
from service.web.middlewares import cors_and_headers, errors, request_context
from service.web.runtime import Runtime, runtime_key


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> web.Application:
    app = web.Application(
        middlewares=[request_context, cors_and_headers, errors],
        client_max_size=settings.max_body_bytes,
    )
    keyring = Keyring.from_secret(master_secret(settings.secret_key, settings.data_dir))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        db = connect(settings.database_url)
        renderer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="captcha-render")
        app[runtime_key] = Runtime(
            settings=settings, db=db, keyring=keyring, vault=Vault(keyring), renderer=renderer, clock=clock
        )
        housekeeping = asyncio.create_task(maintenance.run_forever(db, clock), name="housekeeping")
        yield
        housekeeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await housekeeping
        renderer.shutdown(wait=True, cancel_futures=True)
        await db.dispose()

    app.cleanup_ctx.append(resources)
    for module in (public, moderation, audit, ops, demo, assets):
        app.router.add_routes(module.routes)
    return app
