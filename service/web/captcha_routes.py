"""Readers' CAPTCHA endpoints: a new challenge, and its image or sound."""

from __future__ import annotations

from aiohttp import web

from service import challenges
from service.db import iso
from service.web.errors import json_response, not_found
from service.web.requests import client_address
from service.web.runtime import runtime

routes = web.RouteTableDef()
NO_STORE = {"Cache-Control": "no-store"}


@routes.post("/api/v1/captchas")
async def create_captcha(request: web.Request) -> web.Response:
    challenge = await challenges.issue(runtime(request), client_address(request))
    base = f"/api/v1/captchas/{challenge.id}"
    body = {
        "id": challenge.id,
        "image_url": f"{base}/image.png",
        "audio_url": f"{base}/audio.wav",
        "expires_at": iso(challenge.expires_at),
    }
    return json_response(body, status=201, headers=NO_STORE)


async def _render(request: web.Request, media: challenges.Media, content_type: str) -> web.Response:
    payload = await challenges.render(
        runtime(request), request.match_info["captcha_id"], media, client_address(request)
    )
    if payload is None:
        raise not_found("this code has expired or was used: ask for a new one")
    return web.Response(body=payload, content_type=content_type, headers=NO_STORE)


@routes.get("/api/v1/captchas/{captcha_id}/image.png")
async def captcha_image(request: web.Request) -> web.Response:
    return await _render(request, "png", "image/png")


@routes.get("/api/v1/captchas/{captcha_id}/audio.wav")
async def captcha_audio(request: web.Request) -> web.Response:
    return await _render(request, "wav", "audio/wav")
