"""Web fixtures: the real application over a real database, a settable clock, tokens and CAPTCHA helpers."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service import auth, logs
from service.db import connect
from service.settings import Settings
from service.web.app import create_app
from tests.conftest import TEST_SECRET

TEST_ANSWER = "TEST7"

ClientFactory = Callable[..., Awaitable["Api"]]


@dataclass
class Clock:
    """Real time by default; tests move it forward to expire challenges and leases."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)

    def start_of_a_minute(self) -> None:
        """One second past a minute: a test of the fixed one-minute rate-limit windows then has 59 s before its
        window turns over (and its counts start again, which made such tests fail now and then)."""
        self.advance((61 - self().timestamp() % 60) % 60)


@dataclass
class Api:
    client: TestClient[Any, Any]
    clock: Clock
    settings: Settings

    async def captcha(self) -> str:
        response = await self.client.post("/api/v1/captchas")
        assert response.status == 201
        return str((await response.json())["id"])

    async def submit(self, article_id: str, *, headers: dict[str, str] | None = None, **overrides: Any) -> Any:
        body: dict[str, Any] = {
            "author_name": "Nguyễn Văn An",
            "title": "Ý kiến của tôi",
            "body": "Bài viết rất hay, cảm ơn tòa soạn.",
            "captcha_answer": TEST_ANSWER,
        }
        if "captcha_id" not in overrides:
            body["captcha_id"] = await self.captcha()
        body.update(overrides)
        body = {key: value for key, value in body.items() if value is not ...}
        return await self.client.post(f"/api/v1/articles/{article_id}/comments", json=body, headers=headers)

    async def token(self, role: str = "moderator", name: str | None = None) -> str:
        db = connect(self.settings.database_url)
        try:
            async with db.write() as conn:
                return await auth.add(conn, name or f"{role}-{uuid.uuid4().hex[:8]}", role, self.clock())
        finally:
            await db.dispose()

    async def moderate(self, token: str, comment_id: str, action: str, **body: Any) -> Any:
        return await self.client.post(
            f"/api/v1/moderation/comments/{comment_id}/{action}",
            json=body,
            headers=bearer(token),
        )

    async def published(self, article_id: str, **query: Any) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/articles/{article_id}/comments", params=query)
        assert response.status == 200
        document: dict[str, Any] = await response.json()
        return document


def bearer(token: str, *, accept: str | None = None, request_id: str | None = None) -> dict[str, str]:
    """A moderator's request headers: the token, and optionally what to accept and the request id to record."""
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    if request_id is not None:
        headers["X-Request-Id"] = request_id
    return headers


def article() -> str:
    return f"article-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def base_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        captcha_test_answer=TEST_ANSWER,
        rate_limit=0,
        article_rate_limit=0,
        report_rate_limit=0,
        captcha_rate_limit=0,
        captcha_render_rate_limit=0,
        min_submit_seconds=0,
    )


@pytest.fixture
def make_api(aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], base_settings: Settings) -> ClientFactory:
    async def make(**changes: Any) -> Api:
        settings = replace(base_settings, **changes)
        clock = Clock()
        client = await aiohttp_client(create_app(settings, clock=clock))
        return Api(client=client, clock=clock, settings=settings)

    return make


@pytest.fixture
async def api(make_api: ClientFactory) -> Api:
    return await make_api()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Every log record of the test, as the service writes them in production (JSON lines, masked)."""
    buffer = io.StringIO()
    handler = logs.json_handler(buffer)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)
