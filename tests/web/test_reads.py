"""Readers' reads: answered from memory when warm, fresh after this process's writes, cacheable by a CDN."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

from service.codec import ERASED
from service.settings import Moderation
from service.web.runtime import runtime_key
from tests.conftest import PG_URL, eventually
from tests.web.conftest import Api, ClientFactory, article, bearer

# The app's own timers: what they send to the database is not the requests' doing.
BACKGROUND_TASKS = ("changes-poll", "changes-listen", "housekeeping", "sealing", "subscribers")
PHONE = "0912 345 678"


@contextmanager
def statements_of_requests(api: Api) -> Iterator[list[str]]:
    """Every SQL statement the app sends meanwhile, but for its background tasks'."""
    engine = api.client.app[runtime_key].db.engine.sync_engine
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        task = asyncio.current_task()
        if task is None or task.get_name() not in BACKGROUND_TASKS:
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def counts(api: Api, *article_ids: str) -> dict[str, int]:
    response = await api.client.get("/api/v1/counts", params=[("article_id", a) for a in article_ids])
    assert response.status == 200
    found: dict[str, int] = (await response.json())["counts"]
    return found


async def comment_id_of(response: Any) -> str:
    assert response.status == 202, await response.text()
    return str((await response.json())["id"])


async def test_a_warm_304_and_a_warm_cached_page_send_no_statement_to_the_database(make_api: ClientFactory) -> None:
    api = await make_api(moderation=Moderation.POST)
    article_id = article()
    await comment_id_of(await api.submit(article_id))
    url = f"/api/v1/articles/{article_id}/comments"
    first = await api.client.get(url)  # cold: the article's state and the page's rows
    etag = first.headers["ETag"]

    with statements_of_requests(api) as sent:
        cached = await api.client.get(url)
        revalidated = await api.client.get(url, headers={"If-None-Match": etag})
        counted = await counts(api, article_id)

    assert (first.status, cached.status, revalidated.status) == (200, 200, 304)
    assert await cached.read() == await first.read()
    assert revalidated.headers["ETag"] == etag
    assert counted == {article_id: 1}
    assert sent == []


async def test_a_comment_published_by_this_process_shows_in_its_next_read(make_api: ClientFactory) -> None:
    api = await make_api(moderation=Moderation.POST)
    article_id = article()
    before = await api.published(article_id)

    await comment_id_of(await api.submit(article_id, title="Vừa gửi"))
    after = await api.published(article_id)

    assert (before["total"], before["items"]) == (0, [])
    assert after["total"] == 1
    assert [item["title"] for item in after["items"]] == ["Vừa gửi"]


async def test_counts_follow_approvals_hides_and_erasures_here_at_once_and_elsewhere_within_the_bound(
    make_api: ClientFactory,
) -> None:
    api, elsewhere = await make_api(), await make_api()
    moderator, admin = await api.token("moderator"), await api.token("admin")
    article_id = article()
    with_phone = await comment_id_of(await api.submit(article_id, phone=PHONE, author_name="Lê Thị Hoa"))
    plain = await comment_id_of(await api.submit(article_id))
    assert await counts(api, article_id) == await counts(elsewhere, article_id) == {article_id: 0}

    async def elsewhere_counts(expected: int) -> bool:
        return await counts(elsewhere, article_id) == {article_id: expected}

    for comment_id in (with_phone, plain):
        assert (await api.moderate(moderator, comment_id, "approve", expected_version=1)).status == 200
    assert await counts(api, article_id) == {article_id: 2}
    assert await eventually(lambda: elsewhere_counts(2))

    assert (await api.moderate(moderator, plain, "hide", expected_version=2)).status == 200
    assert await counts(api, article_id) == {article_id: 1}
    assert await eventually(lambda: elsewhere_counts(1))

    erased = await api.client.post("/api/v1/moderation/erasures", json={"phone": PHONE}, headers=bearer(admin))
    assert erased.status == 202
    shown = await api.published(article_id)
    assert await counts(api, article_id) == {article_id: 1}
    assert [(item["author_name"], item["body"]) for item in shown["items"]] == [(ERASED, ERASED)]

    async def elsewhere_shows_the_erasure() -> bool:
        return [item["author_name"] for item in (await elsewhere.published(article_id))["items"]] == [ERASED]

    assert await eventually(elsewhere_shows_the_erasure)
    assert await counts(elsewhere, article_id) == {article_id: 1}


async def test_public_reads_tell_a_cdn_how_long_it_may_serve_them(make_api: ClientFactory) -> None:
    api = await make_api(cdn_max_age=15)
    url = f"/api/v1/articles/{article()}/comments"
    expected = "public, max-age=0, s-maxage=15, stale-while-revalidate=30"

    page = await api.client.get(url, headers={"Origin": "https://news.example"})
    revalidated = await api.client.get(url, headers={"If-None-Match": page.headers["ETag"]})
    counted = await api.client.get("/api/v1/counts", params={"article_id": "a-1"})

    assert [r.headers["Cache-Control"] for r in (page, revalidated, counted)] == [expected] * 3
    assert revalidated.status == 304
    assert "Origin" in page.headers.getall("Vary")


async def test_with_no_cdn_age_public_reads_are_revalidated_every_time(make_api: ClientFactory) -> None:
    api = await make_api(cdn_max_age=0)

    page = await api.client.get(f"/api/v1/articles/{article()}/comments")
    counted = await api.client.get("/api/v1/counts", params={"article_id": "a-1"})

    assert page.headers["Cache-Control"] == counted.headers["Cache-Control"] == "no-cache"


async def test_reads_and_writes_go_on_after_the_database_drops_every_connection(make_api: ClientFactory) -> None:
    api = await make_api(moderation=Moderation.POST)
    if not api.settings.database_url.startswith("postgresql"):
        pytest.skip("only a database server can drop its clients' connections")
    article_id = article()
    await comment_id_of(await api.submit(article_id, title="Trước"))
    url = f"/api/v1/articles/{article_id}/comments"
    etag = (await api.client.get(url)).headers["ETag"]
    changes = api.client.app[runtime_key].changes
    assert await eventually(lambda: _listening(changes))

    dropped = await _drop_every_connection(api.settings.database_url.rpartition("/")[2])

    assert dropped
    assert (await api.client.get(url, headers={"If-None-Match": etag})).status == 304
    assert (await api.client.get(f"/api/v1/articles/{article()}/comments")).status == 200
    await comment_id_of(await api.submit(article_id, title="Sau"))
    assert [item["title"] for item in (await api.published(article_id))["items"]] == ["Trước", "Sau"]
    assert await eventually(lambda: _listening(changes, besides=dropped))


async def _listening(changes: Any, besides: list[int] | None = None) -> bool:
    return changes.listener_pid is not None and changes.listener_pid not in (besides or [])


async def _drop_every_connection(database: str) -> list[int]:
    """What a server restart does to its clients: every backend of the database goes. Returns their pids once
    they are gone."""
    admin = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        pids: list[int] = [
            row["pid"]
            for row in await admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
            )
        ]
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)

        async def gone() -> bool:
            left = await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids)
            return bool(left == 0)

        assert await eventually(gone)
    finally:
        await admin.close()
    return pids
