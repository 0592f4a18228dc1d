"""An auditor reconstructs a comment: every event with who, when and in which request, and its state at any moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.web.conftest import Api, article, bearer
from tests.web.test_openapi import conforms

HISTORY = "/api/v1/audit/comments/{comment_id}/events"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _history(api: Api, token: str, comment_id: str, **query: str) -> Any:
    response = await api.client.get(f"/api/v1/audit/comments/{comment_id}/events", params=query, headers=bearer(token))
    return await conforms(response, "GET", HISTORY)


async def _submitted_approved_hidden(api: Api) -> tuple[str, dict[str, datetime], str]:
    """A comment submitted, approved a minute later and hidden (as spam) a minute after that, by one moderator."""
    moderator_name = f"lan-{article()[-6:]}"
    moderator = await api.token("moderator", name=moderator_name)
    times: dict[str, datetime] = {"before": api.clock()}
    api.clock.advance(60)
    response = await api.submit(article(), phone="0912 345 678", title="Bình luận gốc", body="Nội dung gốc.")
    comment_id = str((await response.json())["id"])
    times["submitted"] = api.clock()
    api.clock.advance(60)
    approved = await api.client.post(
        f"/api/v1/moderation/comments/{comment_id}/approve",
        json={"expected_version": 1},
        headers=bearer(moderator, request_id="req-approve-1"),
    )
    assert approved.status == 200
    times["approved"] = api.clock()
    api.clock.advance(60)
    hidden = await api.client.post(
        f"/api/v1/moderation/comments/{comment_id}/hide",
        json={"expected_version": 2, "reason_code": "spam", "note": "quảng cáo trá hình"},
        headers=bearer(moderator, request_id="req-hide-1"),
    )
    assert hidden.status == 200
    times["hidden"] = api.clock()
    return comment_id, times, moderator_name


async def test_every_event_shows_position_version_type_actor_time_request_hash_and_decrypted_fields(api: Api) -> None:
    auditor = await api.token("auditor")
    comment_id, _times, moderator = await _submitted_approved_hidden(api)

    document = await _history(api, auditor, comment_id)

    events = document["events"]
    assert [(event["type"], event["stream_version"]) for event in events] == [
        ("CommentSubmitted", 1),
        ("CommentApproved", 2),
        ("CommentHidden", 3),
    ]
    assert [event["actor"] for event in events] == ["reader", f"moderator:{moderator}", f"moderator:{moderator}"]
    assert [event["request_id"] for event in events][1:] == ["req-approve-1", "req-hide-1"]
    assert all(len(event["client_hash"]) == 32 for event in events)
    assert [event["position"] for event in events] == sorted(event["position"] for event in events)
    assert all(len(event["hash"]) == 64 for event in events)
    submitted = events[0]
    assert submitted["personal_data"] == "readable"
    assert (submitted["data"]["title"], submitted["data"]["phone"]) == ("Bình luận gốc", "+84912345678")
    assert events[2]["data"]["reason_code"] == "spam"


async def test_the_state_at_a_moment_says_what_readers_saw_and_who_decided_why(api: Api) -> None:
    auditor = await api.token("auditor")
    comment_id, times, moderator = await _submitted_approved_hidden(api)

    before = await _history(api, auditor, comment_id, at=stamp(times["before"]))
    pending = await _history(api, auditor, comment_id, at=stamp(times["submitted"] + timedelta(seconds=1)))
    approved = await _history(api, auditor, comment_id, at=stamp(times["approved"] + timedelta(seconds=1)))
    hidden = await _history(api, auditor, comment_id, at=stamp(times["hidden"]))

    assert before["state"] is None
    assert (pending["state"]["status"], pending["state"]["visible"], pending["state"]["last_decision"]) == (
        "pending",
        False,
        None,
    )
    assert (approved["state"]["status"], approved["state"]["visible"], approved["state"]["version"]) == (
        "approved",
        True,
        2,
    )
    state = hidden["state"]
    assert (state["status"], state["visible"], state["reason_code"], state["body"]) == (
        "hidden",
        False,
        "spam",
        "Nội dung gốc.",
    )
    decision = state["last_decision"]
    assert (decision["type"], decision["actor"], decision["request_id"], decision["note"]) == (
        "CommentHidden",
        f"moderator:{moderator}",
        "req-hide-1",
        "quảng cáo trá hình",
    )
    assert (decision["position"], decision["recorded_at"]) == (
        hidden["events"][2]["position"],
        hidden["events"][2]["recorded_at"],
    )
    assert len(hidden["events"]) == len(before["events"]) == 3


async def test_an_edit_shows_in_the_state_after_it_and_the_original_before(api: Api) -> None:
    auditor, moderator = await api.token("auditor"), await api.token("moderator")
    comment_id = str((await (await api.submit(article(), body="Bản gốc.")).json())["id"])
    submitted_at = api.clock()
    api.clock.advance(60)
    edited = await api.moderate(moderator, comment_id, "edit", expected_version=1, note="sửa lỗi", body="Bản sửa.")
    assert edited.status == 200

    earlier = await _history(api, auditor, comment_id, at=stamp(submitted_at + timedelta(seconds=1)))
    now = await _history(api, auditor, comment_id)

    assert earlier["state"]["body"] == "Bản gốc."
    assert (now["at"], now["state"]["body"], now["state"]["version"]) == (None, "Bản sửa.", 2)


async def test_a_moment_that_is_not_iso_8601_with_a_zone_is_a_field_error(api: Api) -> None:
    auditor = await api.token("auditor")
    comment_id = str((await (await api.submit(article())).json())["id"])

    for value in ("yesterday", "2026-01-31T08:00:00"):
        response = await api.client.get(
            f"/api/v1/audit/comments/{comment_id}/events", params={"at": value}, headers=bearer(auditor)
        )
        document = await conforms(response, "GET", HISTORY)
        assert document["error"]["fields"] == {"at": "invalid"}


async def test_a_rejected_comment_keeps_its_reason_after_a_later_edit(api: Api) -> None:
    auditor, moderator = await api.token("auditor"), await api.token("moderator")
    comment_id = str((await (await api.submit(article())).json())["id"])
    rejected = await api.moderate(moderator, comment_id, "reject", expected_version=1, reason_code="off_topic")
    edited = await api.moderate(moderator, comment_id, "edit", expected_version=2, note="ẩn số", body="Đã sửa.")
    assert (rejected.status, edited.status) == (200, 200)

    state = (await _history(api, auditor, comment_id))["state"]

    assert (state["status"], state["reason_code"], state["last_decision"]["type"]) == (
        "rejected",
        "off_topic",
        "CommentEdited",
    )
