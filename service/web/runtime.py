"""The application's and requests' typed keys, and the accessor handlers use to reach the Runtime."""

from __future__ import annotations

from aiohttp import web

from service.auth import Principal
from service.runtime import Runtime
from service.seals import SealKey

runtime_key = web.AppKey("runtime", Runtime)
seal_key = web.AppKey("seal_key", SealKey)
request_id_key = web.RequestKey("request_id", str)
principal_key = web.RequestKey("principal", Principal)


def runtime(request: web.Request) -> Runtime:
    return request.app[runtime_key]
