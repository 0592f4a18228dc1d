"""The log for auditors: filtered pages in position order, and the whole filtered log streamed as NDJSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from service import history
from tests.web.conftest import Api, article, bearer
from tests.web.test_openapi import conforms

LOG = "/api/v1/audit/events"
NDJSON = "application/x-ndjson"


async def _page(api: Api, token: str, **query: Any) -> Any:
    response = await api.client.get(LOG, params=query, headers=bearer(token))
    return await conforms(response, "GET", LOG)


async def _stream(api: Api, token: str, **query: Any) -> list[dict[str, Any]]:
    response = await api.client.get(LOG, params=query, headers=bearer(token, accept=NDJSON))
    await conforms(response, "GET", LOG)
    assert response.headers["Content-Type"] == f"{NDJSON}; charset=utf-8"
    assert response.headers["Transfer-Encoding"] == "chunked"
    body = await response.read()
    assert body.endswith(b"\n") or body == b""
    return [json.loads(line) for line in body.decode("utf-8").splitlines()]


async def _an_article_with_history(api: Api) -> tuple[str, str, list[str]]:
    """Three comments on a fresh article: one approved and one rejected by a named moderator, one left pending."""
    article_id = article()
    name = f"mod-{article_id[-8:]}"
    moderator = await api.token("moderator", name=name)
    ids = [str((await (await api.submit(article_id, title=f"Ý kiến {n}")).json())["id"]) for n in range(3)]
    assert (await api.moderate(moderator, ids[0], "approve", expected_version=1)).status == 200
    rejected = await api.moderate(moderator, ids[1], "reject", expected_version=1, reason_code="spam")
    assert rejected.status == 200
    return article_id, name, ids


async def test_the_log_of_one_article_lists_its_events_in_position_order(api: Api) -> None:
    auditor = await api.token("auditor")
    article_id, _name, ids = await _an_article_with_history(api)

    page = await _page(api, auditor, article_id=article_id)

    items = page["items"]
    assert [item["type"] for item in items] == ["CommentSubmitted"] * 3 + ["CommentApproved", "CommentRejected"]
    assert [item["position"] for item in items] == sorted(item["position"] for item in items)
    assert {item["stream_id"] for item in items} == {f"comment-{comment_id}" for comment_id in ids}
    assert page["next_after"] is None


async def test_filters_by_type_actor_and_time_combine(api: Api) -> None:
    auditor = await api.token("auditor")
    article_id, name, _ids = await _an_article_with_history(api)
    everything = (await _page(api, auditor, article_id=article_id))["items"]
    first, last = everything[0]["recorded_at"], everything[-1]["recorded_at"]

    by_actor = await _page(api, auditor, actor=f"moderator:{name}")
    approvals = await api.client.get(
        LOG, params=[("article_id", article_id), ("type", "CommentApproved")], headers=bearer(auditor)
    )
    two_types = await api.client.get(
        LOG,
        params=[("article_id", article_id), ("type", "CommentApproved"), ("type", "CommentRejected")],
        headers=bearer(auditor),
    )
    until_last = await _page(api, auditor, article_id=article_id, since=first, until=last)
    from_last = await _page(api, auditor, article_id=article_id, since=last)

    assert [item["type"] for item in by_actor["items"]] == ["CommentApproved", "CommentRejected"]
    assert [item["type"] for item in (await approvals.json())["items"]] == ["CommentApproved"]
    assert len((await two_types.json())["items"]) == 2
    assert [item["position"] for item in until_last["items"]] == [item["position"] for item in everything[:-1]]
    assert [item["position"] for item in from_last["items"]] == [everything[-1]["position"]]


async def test_paging_with_after_and_next_after_visits_every_event_once(api: Api) -> None:
    auditor = await api.token("auditor")
    article_id, _name, _ids = await _an_article_with_history(api)

    seen: list[int] = []
    after = 0
    while True:
        page = await _page(api, auditor, article_id=article_id, after=after, limit=2)
        seen += [item["position"] for item in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]

    everything = (await _page(api, auditor, article_id=article_id))["items"]
    assert seen == [item["position"] for item in everything]


async def test_bad_filters_are_field_errors(api: Api) -> None:
    auditor = await api.token("auditor")

    for query, field in [
        ({"type": "CommentDeleted"}, "type"),
        ({"article_id": "không hợp lệ"}, "article_id"),
        ({"since": "hôm qua"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),
        ({"actor": "x" * 201}, "actor"),
    ]:
        document = await _page(api, auditor, **query)
        assert field in document["error"]["fields"], query


async def test_the_ndjson_export_streams_the_whole_filtered_log(api: Api) -> None:
    auditor = await api.token("auditor")
    article_id, _name, _ids = await _an_article_with_history(api)
    page = (await _page(api, auditor, article_id=article_id, limit=1000))["items"]

    streamed = await _stream(api, auditor, article_id=article_id)
    rejected = await _stream(api, auditor, article_id=article_id, type="CommentRejected")
    later = await _stream(api, auditor, article_id=article_id, after=page[2]["position"])

    assert streamed == page
    assert [item["type"] for item in rejected] == ["CommentRejected"]
    assert later == page[3:]


async def test_the_ndjson_export_reads_in_batches_and_misses_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    auditor = await api.token("auditor")
    article_id, _name, _ids = await _an_article_with_history(api)
    expected = (await _page(api, auditor, article_id=article_id))["items"]
    monkeypatch.setattr(history, "BATCH", 2)
    batch_sizes: list[int] = []
    original_page = history.page

    async def counting_page(*args: Any, **kwargs: Any) -> Any:
        found = await original_page(*args, **kwargs)
        batch_sizes.append(len(found))
        return found

    monkeypatch.setattr(history, "page", counting_page)

    streamed = await _stream(api, auditor, article_id=article_id)

    assert streamed == expected
    assert batch_sizes == [2, 2, 1]


async def test_the_whole_log_streams_when_no_filter_is_given(api: Api) -> None:
    auditor = await api.token("auditor")
    await _an_article_with_history(api)
    verified = await (await api.client.get("/api/v1/audit/verify", headers=bearer(auditor))).json()

    streamed = await _stream(api, auditor)

    assert [item["position"] for item in streamed] == list(range(1, verified["head_position"] + 1))


async def test_a_time_window_in_another_zone_means_the_same_instant(api: Api) -> None:
    auditor = await api.token("auditor")
    article_id, _name, _ids = await _an_article_with_history(api)
    everything = (await _page(api, auditor, article_id=article_id))["items"]
    last = datetime.fromisoformat(everything[-1]["recorded_at"].replace("Z", "+00:00"))
    in_hanoi = last.astimezone(timezone(timedelta(hours=7))).isoformat()

    from_last = await _page(api, auditor, article_id=article_id, since=in_hanoi)

    assert [item["position"] for item in from_last["items"]] == [everything[-1]["position"]]
