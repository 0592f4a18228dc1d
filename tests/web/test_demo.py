"""The demo pages: the seed articles, their published comments rendered server-side and escaped, the widget tag."""

from __future__ import annotations

from service import seeding
from service.crypto import Keyring, Vault
from service.db import connect, utcnow
from tests.conftest import TEST_SECRET
from tests.web.conftest import Api

SLUG = "bac-tu-liem-thi-dua-bau-cu"


async def _seed(api: Api) -> None:
    db = connect(api.settings.database_url)
    try:
        await seeding.seed(db, Vault(Keyring.from_secret(TEST_SECRET)), utcnow)
    finally:
        await db.dispose()


async def test_the_index_lists_the_seed_articles(api: Api) -> None:
    await _seed(api)

    response = await api.client.get("/")

    html = await response.text()
    assert response.status == 200
    assert f'href="/demo/articles/{SLUG}"' in html
    assert "Bắc Từ Liêm" in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")


async def test_an_article_page_shows_its_published_comments_escaped_and_embeds_the_widget(api: Api) -> None:
    await _seed(api)
    published = await api.published(SLUG, per_page=100)

    response = await api.client.get(f"/demo/articles/{SLUG}")

    html = await response.text()
    assert response.status == 200
    assert '<html lang="vi">' in html
    assert f'<script src="/widget.js" data-article-id="{SLUG}" async></script>' in html
    assert published["total"] > 0
    for item in published["items"]:
        assert item["author_name"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html
    assert "<script>alert" not in html


async def test_an_unknown_article_is_a_404_page(api: Api) -> None:
    response = await api.client.get("/demo/articles/no-such-story")

    assert response.status == 404
    assert "text/html" in response.headers["Content-Type"]
