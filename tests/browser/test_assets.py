"""The readers' scripts over HTTP (no browser needed): type, caching, ETags, gzip and the security headers."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.settings import Settings
from service.web import asset_routes as assets
from service.web import staticfiles
from service.web.app import create_app
from tests.conftest import TEST_SECRET, Databases

Client = TestClient[Any, Any]


@pytest.fixture(scope="module")
def sqlite_url(databases: Databases) -> str:
    # Synchronous: the migration runs its own event loop, which cannot start inside the test's.
    return databases.new("sqlite")


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], sqlite_url: str) -> Client:
    return await aiohttp_client(create_app(Settings(database_url=sqlite_url, secret_key=TEST_SECRET)))


@pytest.mark.parametrize("name", ["widget.js", "count.js"])
async def test_the_scripts_are_utf8_javascript_cached_for_five_minutes(client: Client, name: str) -> None:
    response = await client.get(f"/{name}", headers={"Accept-Encoding": "identity"})

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Encoding" not in response.headers
    body = await response.read()
    assert body == (assets.STATIC / name).read_bytes()
    assert response.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()[:32]}"'


async def test_the_widget_is_gzipped_for_browsers_that_accept_it(client: Client) -> None:
    response = await client.get("/widget.js", headers={"Accept-Encoding": "gzip, deflate, br"}, auto_decompress=False)

    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["ETag"].endswith('-gz"')
    assert "Accept-Encoding" in response.headers.getall("Vary")
    compressed = await response.read()
    assert gzip.decompress(compressed) == (assets.STATIC / "widget.js").read_bytes()
    assert len(compressed) < 15 * 1024  # the widget's size budget


async def test_a_refused_gzip_is_not_sent(client: Client) -> None:
    response = await client.get("/widget.js", headers={"Accept-Encoding": "gzip;q=0, identity"})

    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_known_etag_gets_a_304_without_a_body(client: Client, encoding: str) -> None:
    first = await client.get("/widget.js", headers={"Accept-Encoding": encoding})
    etag = first.headers["ETag"]

    again = await client.get("/widget.js", headers={"Accept-Encoding": encoding, "If-None-Match": f"W/{etag}"})

    assert again.status == 304
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == "public, max-age=300"
    assert await again.read() == b""


async def test_an_edited_file_is_served_with_a_new_etag(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets, "STATIC", tmp_path)
    script = tmp_path / "count.js"
    script.write_text("// first\n", encoding="utf-8")
    first = await client.get("/count.js", headers={"Accept-Encoding": "identity"})
    script.write_text("// second, longer\n", encoding="utf-8")

    second = await client.get(
        "/count.js", headers={"Accept-Encoding": "identity", "If-None-Match": first.headers["ETag"]}
    )

    assert second.status == 200
    assert await second.text() == "// second, longer\n"
    assert second.headers["ETag"] != first.headers["ETag"]


async def test_head_answers_the_headers_only(client: Client) -> None:
    response = await client.head("/widget.js", headers={"Accept-Encoding": "identity"})

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert await response.read() == b""


@pytest.mark.parametrize(
    ("header", "accepted"),
    [("gzip", True), ("deflate, gzip;q=0.5", True), ("*", True), ("gzip;q=0", False), ("br", False), ("", False)],
)
def test_gzip_is_chosen_from_accept_encoding(header: str, accepted: bool) -> None:
    assert staticfiles.accepts_gzip(header) is accepted
