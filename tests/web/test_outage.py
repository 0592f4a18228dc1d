"""A database that cannot be reached answers 503 `unavailable` with Retry-After, never 500, on every endpoint."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from service.auth import TOKEN_PREFIX
from tests.web.conftest import ClientFactory, bearer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.fixture(params=["postgres-down", "sqlite-without-schema"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres-down":
        return f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/comments"
    # A database file the service cannot use (here: not migrated, so every statement fails operationally). An
    # unopenable path would do too, but aiosqlite then leaves a thread that reports to the test's closed event loop.
    return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/captchas", None),
        ("GET", "/api/v1/articles/a1/comments", None),
        ("GET", "/api/v1/counts?article_id=a1", None),
        (
            "POST",
            "/api/v1/articles/a1/comments",
            {"author_name": "An", "title": "T", "body": "B", "captcha_id": "x", "captcha_answer": "Y"},
        ),
        ("POST", "/api/v1/comments/6f1d2c4e-8a1b-4c55-9a52-0d8f3c1a2b3c/reports", {"reason": "spam"}),
        ("GET", "/api/v1/moderation/queue", None),
        ("GET", "/api/v1/audit/verify", None),
    ],
)
async def test_every_endpoint_answers_503_with_retry_after_while_the_database_is_unreachable(
    make_api: ClientFactory, unreachable_url: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    api = await make_api(database_url=unreachable_url)

    response = await api.client.request(method, path, json=body, headers=bearer(TOKEN_PREFIX + "x" * 43))

    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["error"]["code"] == "unavailable"


async def test_readiness_agrees_with_the_api(make_api: ClientFactory, unreachable_url: str) -> None:
    api = await make_api(database_url=unreachable_url)

    ready = await api.client.get("/readyz")

    assert ready.status == 503
    assert (await api.client.get("/healthz")).status == 200
