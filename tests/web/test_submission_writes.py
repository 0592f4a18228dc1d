"""A submission's writes over HTTP, through the group committer: what a refusal still leaves behind, and what not."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from service.db import connect
from service.tables import events, rate_limits
from tests.web.conftest import Api, ClientFactory, article, bearer


async def _status_and_code(response: Any) -> tuple[int, str | None]:
    document = await response.json()
    return response.status, document.get("error", {}).get("code")


async def _scalar(api: Api, statement: sa.Select[Any]) -> int:
    db = connect(api.settings.database_url)
    try:
        async with db.read() as conn:
            return int(await conn.scalar(statement) or 0)
    finally:
        await db.dispose()


async def test_a_code_is_used_up_by_a_submission_the_rules_refuse(api: Api) -> None:
    closed = article()
    admin = await api.token("admin")
    response = await api.client.put(
        f"/api/v1/moderation/articles/{closed}/settings",
        json={"moderation": "pre", "closed": True},
        headers=bearer(admin),
    )
    assert response.status == 200
    challenge = await api.captcha()

    refused = await api.submit(closed, captcha_id=challenge)
    reused = await api.submit(article(), captcha_id=challenge)

    assert await _status_and_code(refused) == (409, "article_closed")
    assert await _status_and_code(reused) == (422, "captcha_invalid")


async def test_refused_submissions_still_count_against_the_limit_and_leave_the_code_unused(
    make_api: ClientFactory,
) -> None:
    api = await make_api(rate_limit=1)
    api.clock.advance(61 - api.clock().timestamp() % 60)  # a second into a fresh window: no boundary mid-test
    article_id = article()
    first = await api.submit(article_id)
    challenge = await api.captcha()

    limited = [await api.submit(article_id, captcha_id=challenge) for _ in range(2)]

    assert first.status == 202
    assert [await _status_and_code(response) for response in limited] == [(429, "rate_limited")] * 2
    hits = sa.select(sa.func.sum(rate_limits.c.count)).where(rate_limits.c.bucket.like("submit:client:%"))
    assert await _scalar(api, hits) == 3
    api.clock.advance(61)  # the next window: the code the refused attempts carried was never consumed
    assert (await api.submit(article_id, captcha_id=challenge)).status == 202


async def test_concurrent_submissions_and_decisions_each_get_their_own_answer(api: Api) -> None:
    article_id = article()
    pending = [(await (await api.submit(article_id)).json())["id"] for _ in range(4)]
    token = await api.token()
    challenges = [await api.captcha() for _ in range(6)]
    before = await _scalar(api, sa.select(sa.func.count()).select_from(events))

    submitted, approved, stale = await asyncio.gather(
        asyncio.gather(*(api.submit(article_id, captcha_id=challenge) for challenge in challenges)),
        asyncio.gather(*(api.moderate(token, comment_id, "approve", expected_version=1) for comment_id in pending)),
        api.moderate(token, pending[0], "reject", expected_version=1, reason_code="spam"),
    )

    assert [response.status for response in submitted] == [202] * 6
    statuses = sorted([*(response.status for response in approved), stale.status])
    assert statuses == [200, 200, 200, 200, 409]  # one of the two decisions on pending[0] lost the race
    assert await _scalar(api, sa.select(sa.func.count()).select_from(events)) == before + 6 + 4
