"""The OpenAPI document: valid 3.1, true to the registered routes both ways, served, and matched by real answers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate

from service.settings import Settings
from service.web.app import create_app
from service.web.openapi import PAGES, spec
from tests.web.conftest import Api, article, bearer

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
PAGE_OPERATIONS = {(path, "GET") for path, *_ in PAGES}


def documented() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, item in spec()["paths"].items() for method in item if method in METHODS}


def registered(tmp_path: Path) -> set[tuple[str, str]]:
    settings = Settings(database_url="sqlite+aiosqlite:///" + str(tmp_path / "x.db"), secret_key="x" * 40)
    app = create_app(settings)
    return {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None and route.method not in ("HEAD", "OPTIONS")
    }


def test_the_document_is_valid_openapi_3_1() -> None:
    document = spec()

    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Comments service"
    assert document["info"]["version"] == "1.0.0"


def test_the_document_is_built_once() -> None:
    assert spec() is spec()


def test_every_registered_route_is_documented(tmp_path: Path) -> None:
    missing = registered(tmp_path) - documented()

    assert not missing, f"routes the document does not describe: {sorted(missing)}"


def test_every_documented_api_operation_is_registered(tmp_path: Path) -> None:
    # The HTML and script pages may be registered by a module still being written; every other operation must be.
    phantom = documented() - PAGE_OPERATIONS - registered(tmp_path)

    assert not phantom, f"operations the app does not register: {sorted(phantom)}"


def test_moderation_and_audit_operations_need_a_bearer_token() -> None:
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            protected = path.startswith(("/api/v1/moderation/", "/api/v1/audit/"))
            assert ("security" in operation) == protected, (method, path)
            if protected:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_the_text_limits_are_documented() -> None:
    schemas = spec()["components"]["schemas"]
    submission = schemas["CommentSubmission"]["properties"]

    assert submission["author_name"]["maxLength"] == 80
    assert submission["title"]["maxLength"] == 150
    assert submission["body"]["maxLength"] == 5000
    assert schemas["Decision"]["properties"]["note"]["anyOf"][0]["maxLength"] == 1000


async def test_the_service_serves_the_document(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], database_url: str
) -> None:
    client = await aiohttp_client(create_app(Settings(database_url=database_url, secret_key="x" * 40)))

    response = await client.get("/openapi.json")

    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == spec()


# --- real answers match the document --------------------------------------------------------------------------


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        kind, name = node["$ref"].removeprefix("#/components/").split("/")
        node = spec()["components"][kind][name]
    return node


async def conforms(response: ClientResponse, method: str, path: str) -> Any:
    """Check the answer against the document's description of `method path`; return its JSON body, if any."""
    operation = spec()["paths"][path][method.lower()]
    described = operation["responses"].get(str(response.status))
    assert described is not None, f"{method} {path} answered {response.status}, which the document does not list"
    described = _resolve(described)
    assert "X-Request-Id" in response.headers
    for header in described.get("headers", {}):
        assert header in response.headers, f"{method} {path} {response.status} lacks {header}"
    content = described.get("content")
    if content is None:
        assert not await response.read()
        return None
    assert response.content_type in content
    if response.content_type != "application/json":
        return None
    body = await response.json()
    schema = {"components": spec()["components"], **content["application/json"]["schema"]}
    OAS31Validator(schema, format_checker=oas31_format_checker).validate(body)
    return body


async def test_public_answers_match_the_document(api: Api) -> None:
    client, article_id = api.client, article()
    challenge = await conforms(await client.post("/api/v1/captchas"), "POST", "/api/v1/captchas")
    image = await client.get(challenge["image_url"])
    await conforms(image, "GET", "/api/v1/captchas/{captcha_id}/image.png")
    missing = await client.get("/api/v1/captchas/unknown/audio.wav")
    await conforms(missing, "GET", "/api/v1/captchas/{captcha_id}/audio.wav")

    comments = "/api/v1/articles/{article_id}/comments"
    accepted = await conforms(await api.submit(article_id), "POST", comments)
    await conforms(await api.submit(article_id, title=""), "POST", comments)
    await conforms(await api.submit(article_id, captcha_answer="WRONG"), "POST", comments)
    await conforms(await api.submit(article_id, phone=12), "POST", comments)
    malformed = await client.post(
        f"/api/v1/articles/{article_id}/comments", data=b"{", headers={"Content-Type": "application/json"}
    )
    await conforms(malformed, "POST", comments)
    await conforms(await client.post(f"/api/v1/articles/{article_id}/comments", data=b"x"), "POST", comments)
    await conforms(await api.submit(article_id, headers={"Idempotency-Key": "a b"}), "POST", comments)

    page = await client.get(f"/api/v1/articles/{article_id}/comments", params={"per_page": 5})
    await conforms(page, "GET", comments)
    unchanged = await client.get(
        f"/api/v1/articles/{article_id}/comments",
        params={"per_page": 5},
        headers={"If-None-Match": page.headers["ETag"]},
    )
    await conforms(unchanged, "GET", comments)
    await conforms(await client.get(f"/api/v1/articles/{article_id}/comments?order=up"), "GET", comments)

    counted = await client.get("/api/v1/counts", params=[("article_id", article_id), ("article_id", "other")])
    assert (await conforms(counted, "GET", "/api/v1/counts"))["counts"] == {article_id: 0, "other": 0}
    await conforms(await client.get("/api/v1/counts"), "GET", "/api/v1/counts")

    reports = "/api/v1/comments/{comment_id}/reports"
    report = await client.post(f"/api/v1/comments/{accepted['id']}/reports", json={"reason": "spam"})
    await conforms(report, "POST", reports)
    await conforms(
        await client.post(f"/api/v1/comments/{uuid.uuid4()}/reports", json={"reason": "spam"}), "POST", reports
    )
    await conforms(
        await client.post(f"/api/v1/comments/{accepted['id']}/reports", json={"reason": "x"}), "POST", reports
    )


async def test_moderation_and_audit_answers_match_the_document(api: Api) -> None:
    client, article_id = api.client, article()
    moderator, auditor, admin = await api.token("moderator"), await api.token("auditor"), await api.token("admin")
    first = (await (await api.submit(article_id)).json())["id"]
    second = (await (await api.submit(article_id)).json())["id"]

    queue = "/api/v1/moderation/queue"
    await conforms(await client.get(queue), "GET", queue)
    await conforms(await client.get(queue, headers=bearer(auditor)), "GET", queue)
    await conforms(await client.get(queue, params={"limit": 0}, headers=bearer(moderator)), "GET", queue)
    listed = await client.get(queue, params={"article_id": article_id, "limit": 1}, headers=bearer(moderator))
    assert (await conforms(listed, "GET", queue))["next_cursor"] is not None

    one = "/api/v1/moderation/comments/{comment_id}"
    await conforms(await client.get(f"/api/v1/moderation/comments/{first}", headers=bearer(moderator)), "GET", one)
    await conforms(
        await client.get(f"/api/v1/moderation/comments/{uuid.uuid4()}", headers=bearer(moderator)), "GET", one
    )

    claims = "/api/v1/moderation/claims"
    claimed = await client.post(claims, json={"limit": 1, "article_id": article_id}, headers=bearer(admin))
    await conforms(claimed, "POST", claims)
    await conforms(await client.post(claims, json={"limit": 0}, headers=bearer(moderator)), "POST", claims)

    decide = "/api/v1/moderation/comments/{comment_id}/{action}"
    refused = await api.moderate(moderator, first, "approve", expected_version=1)
    assert (await conforms(refused, "POST", decide))["error"]["code"] == "claimed"
    await conforms(await client.delete(claims, headers=bearer(admin)), "DELETE", claims)
    approved = await api.moderate(moderator, first, "approve", expected_version=1)
    assert (await conforms(approved, "POST", decide))["status"] == "approved"
    await conforms(await api.moderate(moderator, first, "approve", expected_version=1), "POST", decide)
    await conforms(
        await api.moderate(moderator, first, "reject", expected_version=2, reason_code="spam"), "POST", decide
    )
    await conforms(await api.moderate(moderator, first, "publish", expected_version=2), "POST", decide)
    await conforms(await api.moderate(moderator, str(uuid.uuid4()), "hide", expected_version=1), "POST", decide)

    bulk = "/api/v1/moderation/decisions"
    decisions = [
        {"id": second, "action": "reject", "expected_version": 1, "reason_code": "spam", "note": "quảng cáo"},
        {"id": "nope", "action": "approve", "expected_version": 1},
        {"id": first, "action": "edit", "expected_version": 2, "note": "typo", "body": "Sửa lại."},
    ]
    results = await conforms(
        await client.post(bulk, json={"decisions": decisions}, headers=bearer(moderator)), "POST", bulk
    )
    assert [result["status"] for result in results["results"]] == ["rejected", None, "approved"]
    await conforms(await client.post(bulk, json={"decisions": []}, headers=bearer(moderator)), "POST", bulk)

    settings = "/api/v1/moderation/articles/{article_id}/settings"
    url = f"/api/v1/moderation/articles/{article_id}/settings"
    await conforms(
        await client.put(url, json={"moderation": "post", "closed": True}, headers=bearer(moderator)), "PUT", settings
    )
    await conforms(
        await client.put(url, json={"moderation": "post", "closed": True}, headers=bearer(admin)), "PUT", settings
    )
    await conforms(await api.submit(article_id), "POST", "/api/v1/articles/{article_id}/comments")

    history = "/api/v1/audit/comments/{comment_id}/events"
    events = await conforms(
        await client.get(f"/api/v1/audit/comments/{first}/events", headers=bearer(auditor)), "GET", history
    )
    assert [event["type"] for event in events["events"]][:2] == ["CommentSubmitted", "CommentApproved"]
    await conforms(
        await client.get(f"/api/v1/audit/comments/{uuid.uuid4()}/events", headers=bearer(auditor)), "GET", history
    )
    log = "/api/v1/audit/events"
    await conforms(await client.get(log, params={"limit": 2}, headers=bearer(auditor)), "GET", log)
    await conforms(await client.get(log, params={"limit": 1001}, headers=bearer(auditor)), "GET", log)
    await conforms(await client.get(log, headers=bearer(moderator)), "GET", log)
    verify = await client.get("/api/v1/audit/verify", headers=bearer(auditor))
    assert (await conforms(verify, "GET", "/api/v1/audit/verify"))["ok"] is True


async def test_the_registered_pages_match_the_document(api: Api, tmp_path: Path) -> None:
    wired = registered(tmp_path)
    for path, *_ in PAGES:
        if (path, "GET") in wired:
            await conforms(await api.client.get(path.replace("{slug}", "no-such-story")), "GET", path)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
async def test_operations_answers_match_the_document(api: Api, path: str) -> None:
    await conforms(await api.client.get(path), "GET", path)
