"""A challenge's image and sound are drawn once and reused; new drawings are limited per address."""

from __future__ import annotations

from tests.web.conftest import ClientFactory


def _renders(metrics: str, source: str) -> int:
    return int(metrics.split(f'comments_captcha_renders_total{{source="{source}"}} ')[1].split()[0])


async def test_the_sound_of_one_challenge_is_drawn_once_however_often_it_is_played(make_api: ClientFactory) -> None:
    api = await make_api()
    challenge = await api.captcha()

    bodies = [await (await api.client.get(f"/api/v1/captchas/{challenge}/audio.wav")).read() for _ in range(3)]

    assert bodies[0][:4] == b"RIFF"
    assert bodies[1:] == bodies[:1] * 2
    metrics = await (await api.client.get("/metrics")).text()
    assert (_renders(metrics, "drawn"), _renders(metrics, "reused")) == (1, 2)


async def test_new_drawings_are_limited_per_address_but_a_drawn_one_is_still_served(make_api: ClientFactory) -> None:
    api = await make_api(captcha_render_rate_limit=2)
    api.clock.start_of_a_minute()
    first, second, third = [await api.captcha() for _ in range(3)]

    answers = [await api.client.get(f"/api/v1/captchas/{challenge}/image.png") for challenge in (first, second, third)]
    again = await api.client.get(f"/api/v1/captchas/{first}/image.png")

    assert [response.status for response in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert (await answers[2].json())["error"]["code"] == "rate_limited"
    assert again.status == 200
