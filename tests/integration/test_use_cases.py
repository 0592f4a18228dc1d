"""The use cases without HTTP: what a handler calls, with its refusals as domain errors, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service import challenges, published, queue, submissions
from service.auth import Principal
from service.changes import ChangeFeed
from service.commands import ApproveComment
from service.crypto import Keyring, Vault
from service.db import Database
from service.moderation import CommentNotFound, InvalidField
from service.pagecache import PageCache
from service.ratelimit import RateLimited
from service.runtime import Runtime
from service.settings import Settings
from tests.conftest import TEST_SECRET

ANSWER = "TEST7"
ADDRESS = "203.0.113.9"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def make_runtime(db: Database, tmp_path: Path) -> AsyncIterator[Callable[..., Runtime]]:
    renderer = ThreadPoolExecutor(max_workers=1)
    keyring = Keyring.from_secret(TEST_SECRET)
    changes = ChangeFeed(db)
    changes.start()

    def make(**overrides: object) -> Runtime:
        base = Settings.from_env({"COMMENTS_CAPTCHA_TEST_ANSWER": ANSWER, "COMMENTS_DATA_DIR": str(tmp_path)})
        lifted: dict[str, object] = {"min_submit_seconds": 0, "rate_limit": 0, "captcha_rate_limit": 0}
        settings = replace(base, **(lifted | overrides))  # type: ignore[arg-type]
        return Runtime(
            settings=settings,
            db=db,
            keyring=keyring,
            vault=Vault(keyring),
            renderer=renderer,
            clock=Clock(),
            changes=changes,
        )

    yield make
    await changes.stop()
    renderer.shutdown(wait=True)


def _form(article_id: str, captcha_id: str, **overrides: object) -> submissions.Submission:
    values: dict[str, object] = {
        "article_id": article_id,
        "author_name": "Lê Văn Tám",
        "title": "Góp ý",
        "body": "Cảm ơn bài viết.",
        "captcha_id": captcha_id,
        "captcha_answer": ANSWER.lower(),
    }
    values.update(overrides)
    return submissions.Submission(**values)  # type: ignore[arg-type]


async def _submit(rt: Runtime, article_id: str, **overrides: object) -> uuid.UUID:
    challenge = await challenges.issue(rt, ADDRESS)
    outcome = await submissions.submit(
        rt, _form(article_id, challenge.id, **overrides), client_address=ADDRESS, meta={"request_id": "t"}
    )
    return uuid.UUID(str(outcome.recorded[0].event.comment_id))  # type: ignore[union-attr]


async def test_a_submission_lands_pending_in_the_queue(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    article_id = f"uc-{uuid.uuid4().hex[:8]}"

    comment_id = await _submit(rt, article_id)

    item = await queue.entry(rt.db, comment_id, rt.clock())
    assert item["status"] == "pending"
    assert item["author_name"] == "Lê Văn Tám"


async def test_a_wrong_code_is_refused_and_the_challenge_is_spent(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    challenge = await challenges.issue(rt, ADDRESS)
    wrong = replace(_form("uc-wrong", challenge.id), captcha_answer="NOPE9")

    with pytest.raises(submissions.CaptchaInvalid):
        await submissions.submit(rt, wrong, client_address=ADDRESS, meta={})
    with pytest.raises(submissions.CaptchaInvalid):
        await submissions.submit(rt, _form("uc-wrong", challenge.id), client_address=ADDRESS, meta={})
    assert await challenges.render(rt, challenge.id, "png", ADDRESS) is None


async def test_the_address_limit_refuses_with_the_seconds_to_wait(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime(rate_limit=1)
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    first = await challenges.issue(rt, address)
    second = await challenges.issue(rt, address)
    await submissions.submit(rt, _form("uc-limit", first.id), client_address=address, meta={})

    with pytest.raises(RateLimited) as refused:
        await submissions.submit(rt, _form("uc-limit", second.id), client_address=address, meta={})

    assert 1 <= refused.value.retry_after <= 60


async def test_a_submission_faster_than_a_person_types_is_refused(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime(min_submit_seconds=5)
    challenge = await challenges.issue(rt, ADDRESS)

    with pytest.raises(RateLimited) as refused:
        await submissions.submit(rt, _form("uc-fast", challenge.id), client_address=ADDRESS, meta={})

    assert refused.value.retry_after == 5


async def test_claims_are_disjoint_and_a_decision_on_anothers_claim_is_refused(
    make_runtime: Callable[..., Runtime],
) -> None:
    rt = make_runtime()
    article_id = f"uc-{uuid.uuid4().hex[:8]}"
    ids = {await _submit(rt, article_id) for _ in range(3)}
    now = rt.clock()

    mine = await queue.claim(rt.db, "an", limit=2, lease_seconds=60, article_id=article_id, now=now)
    theirs = await queue.claim(rt.db, "binh", limit=2, lease_seconds=60, article_id=article_id, now=now)

    assert len(mine) == 2
    assert len(theirs) == 1
    assert {item["id"] for item in mine + theirs} == {str(comment_id) for comment_id in ids}
    held = uuid.UUID(mine[0]["id"])
    approve = ApproveComment(comment_id=held, moderator="binh", expected_version=1)
    with pytest.raises(queue.Claimed):
        await queue.decide(rt, Principal(name="binh", role="moderator"), approve, meta={})
    decision = await queue.decide(rt, Principal(name="an", role="moderator"), replace(approve, moderator="an"), meta={})
    assert decision.view() == {"id": str(held), "status": "approved", "version": 2}
    assert await queue.release(rt.db, "an") == 1  # the decided one's lease ended with the decision


async def test_an_expired_lease_no_longer_blocks_another_moderator(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    article_id = f"uc-{uuid.uuid4().hex[:8]}"
    comment_id = await _submit(rt, article_id)
    await queue.claim(rt.db, "an", limit=1, lease_seconds=30, article_id=article_id, now=rt.clock())
    clock = rt.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(seconds=31)

    approve = ApproveComment(comment_id=comment_id, moderator="binh", expected_version=1)
    decision = await queue.decide(rt, Principal(name="binh", role="moderator"), approve, meta={})

    assert decision.status == "approved"


async def test_an_approved_comment_is_on_the_published_page(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()
    article_id = f"uc-{uuid.uuid4().hex[:8]}"
    comment_id = await _submit(rt, article_id, body="Nội dung đã duyệt.")
    approve = ApproveComment(comment_id=comment_id, moderator="an", expected_version=1)
    await queue.decide(rt, Principal(name="an", role="moderator"), approve, meta={})

    page = await published.page(rt.db, rt.changes, PageCache(), published.PageQuery(article_id))

    assert page.body is not None
    assert "Nội dung đã duyệt." in page.body.decode("utf-8")
    assert await published.counts(rt.changes, [article_id, "nobody-here"]) == {article_id: 1, "nobody-here": 0}
    query = published.PageQuery(article_id)
    again = await published.page(rt.db, rt.changes, PageCache(), query, if_none_match=page.etag)
    assert again.body is None


async def test_queue_lookups_and_cursors_refuse_what_does_not_exist(make_runtime: Callable[..., Runtime]) -> None:
    rt = make_runtime()

    with pytest.raises(CommentNotFound):
        await queue.entry(rt.db, uuid.uuid4(), rt.clock())
    with pytest.raises(InvalidField) as refused:
        await queue.listing(rt.db, queue.QueueFilter(cursor="not-a-cursor"), rt.clock())
    assert refused.value.field == "cursor"
