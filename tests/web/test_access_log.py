"""The access log: one JSON line per request with pre-masked fields; what a client chose is masked, never dropped."""

from __future__ import annotations

import io
import json
from typing import Any

from tests.web.conftest import Api, article

PHONE_DIGITS = "0912345678"
MASKED_PHONE = "+8491*****78"


def access_lines(log_output: io.StringIO) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [entry for entry in entries if entry["logger"] == "comments.access"]


async def test_a_read_logs_its_route_template_and_the_request_id_we_made(api: Api, log_output: io.StringIO) -> None:
    article_id = article()

    response = await api.client.get(f"/api/v1/articles/{article_id}/comments")

    [entry] = access_lines(log_output)
    assert entry["request_id"] == response.headers["X-Request-Id"]
    assert (entry["method"], entry["route"], entry["status"]) == (
        "GET",
        "/api/v1/articles/{article_id}/comments",
        200,
    )
    assert article_id not in json.dumps(entry)
    assert "premasked" not in entry
    assert entry["ts"].endswith("Z")


async def test_a_phone_number_in_a_request_id_an_article_id_or_a_stray_path_is_masked(
    api: Api, log_output: io.StringIO
) -> None:
    await api.client.get(f"/api/v1/articles/{PHONE_DIGITS}/comments", headers={"X-Request-Id": PHONE_DIGITS})
    await api.client.get(f"/no/such/page/{PHONE_DIGITS}", headers={"X-Request-Id": "cmt_secretTokenValue"})

    listed, stray = access_lines(log_output)
    # Every line, aiohttp's own access log in the test server included, goes through the masking filter.
    assert PHONE_DIGITS not in log_output.getvalue()
    assert "cmt_secretTokenValue" not in log_output.getvalue()
    assert listed["request_id"] == MASKED_PHONE
    assert "path" not in listed
    assert (stray["route"], stray["status"], stray["request_id"]) == ("unmatched", 404, "cmt_***")
    assert stray["path"] == f"/no/such/page/{MASKED_PHONE}"
