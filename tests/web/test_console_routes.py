"""The console's files as served (types, security headers, caching) and the moderators' history endpoint."""

from __future__ import annotations

import gzip
import re
import uuid

import pytest

from service.web.console_routes import FOLDER
from tests.web.conftest import Api, article, bearer

FILES = [
    ("/moderation/", "text/html", "index.html"),
    ("/moderation/console.js", "application/javascript", "console.js"),
    ("/moderation/catalogue.js", "application/javascript", "catalogue.js"),
    ("/moderation/console.css", "text/css", "console.css"),
]


@pytest.mark.parametrize(("path", "content_type", "name"), FILES)
async def test_each_console_file_is_served_with_its_type_and_nosniff(
    api: Api, path: str, content_type: str, name: str
) -> None:
    response = await api.client.get(path, headers={"Accept-Encoding": "identity"})

    assert response.status == 200
    assert response.content_type == content_type
    assert response.charset == "utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    assert await response.read() == (FOLDER / name).read_bytes()


async def test_the_page_carries_the_content_security_policy(api: Api) -> None:
    response = await api.client.get("/moderation/")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_the_page_has_no_inline_script_and_loads_its_own_files(api: Api) -> None:
    page = await (await api.client.get("/moderation/")).text()

    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ['<script type="module" src="/moderation/console.js">']
    assert '<link rel="stylesheet" href="/moderation/console.css">' in page
    assert not re.search(r"\son[a-z]+=", page), "inline event handlers would be blocked by the policy"


async def test_a_file_the_browser_holds_is_revalidated_with_a_304(api: Api) -> None:
    first = await api.client.get("/moderation/console.js", headers={"Accept-Encoding": "identity"})
    etag = first.headers["ETag"]

    again = await api.client.get(
        "/moderation/console.js", headers={"If-None-Match": etag, "Accept-Encoding": "identity"}
    )

    assert again.status == 304
    assert again.headers["ETag"] == etag


async def test_files_are_gzipped_for_browsers_that_accept_it(api: Api) -> None:
    response = await api.client.get(
        "/moderation/console.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )

    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(await response.read()) == (FOLDER / "console.js").read_bytes()


async def test_the_console_answers_without_a_token(api: Api) -> None:
    # The page itself is public (it holds no data); every API call it makes needs the token.
    response = await api.client.get("/moderation/")

    assert response.status == 200


# --- the history a moderator reads -----------------------------------------------------------------------------


async def test_a_moderator_reads_who_did_what_when_and_why(api: Api) -> None:
    moderator = await api.token("moderator", name="lan")
    submitted = await (await api.submit(article(), phone="0912 345 678")).json()
    rejected = await api.moderate(
        moderator, submitted["id"], "reject", expected_version=1, reason_code="spam", note="quảng cáo"
    )
    assert rejected.status == 200

    response = await api.client.get(f"/api/v1/moderation/comments/{submitted['id']}/history", headers=bearer(moderator))

    assert response.status == 200
    document = await response.json()
    assert document["id"] == submitted["id"]
    [first, second] = document["events"]
    assert first["type"] == "CommentSubmitted"
    assert first["actor"] == "reader"
    assert first["data"]["author_name"] == "Nguyễn Văn An"
    assert second["type"] == "CommentRejected"
    assert second["actor"] == "moderator:lan"
    assert second["data"]["reason_code"] == "spam"
    assert second["data"]["note"] == "quảng cáo"
    assert second["stream_version"] == 2
    assert second["recorded_at"].endswith("Z") or "+" in second["recorded_at"]
    assert "request_id" in second


async def test_the_history_leaves_out_the_phone_and_the_personal_hashes(api: Api) -> None:
    moderator = await api.token("moderator")
    submitted = await (await api.submit(article(), phone="0912 345 678")).json()

    response = await api.client.get(f"/api/v1/moderation/comments/{submitted['id']}/history", headers=bearer(moderator))

    body = await response.text()
    [event] = (await response.json())["events"]
    assert "+84912345678" not in body
    assert not {"phone", "subject_id", "client_hash"} & set(event["data"])
    assert {"position", "hash", "prev_hash"}.isdisjoint(event)


async def test_an_auditor_may_not_read_the_moderators_history(api: Api) -> None:
    auditor = await api.token("auditor")
    submitted = await (await api.submit(article())).json()

    response = await api.client.get(f"/api/v1/moderation/comments/{submitted['id']}/history", headers=bearer(auditor))

    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"


async def test_the_history_needs_a_token(api: Api) -> None:
    submitted = await (await api.submit(article())).json()

    response = await api.client.get(f"/api/v1/moderation/comments/{submitted['id']}/history")

    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"


async def test_an_admin_reads_the_history_too(api: Api) -> None:
    admin = await api.token("admin")
    submitted = await (await api.submit(article())).json()

    response = await api.client.get(f"/api/v1/moderation/comments/{submitted['id']}/history", headers=bearer(admin))

    assert response.status == 200


@pytest.mark.parametrize("comment_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_an_unknown_comment_has_no_history(api: Api, comment_id: str) -> None:
    moderator = await api.token("moderator")

    response = await api.client.get(f"/api/v1/moderation/comments/{comment_id}/history", headers=bearer(moderator))

    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
