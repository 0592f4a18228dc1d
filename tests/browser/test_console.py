"""The moderators' console in Chromium: sign in, decide by keyboard, claims, conflicts, spam waves, history."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import ARTIFACTS, TEST_ANSWER, Service, Tab

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.__xss=1>"


@dataclass(frozen=True)
class Moderator:
    name: str
    token: str


@pytest.fixture
def moderator(service: Service) -> Callable[[], Moderator]:
    """Makes a moderator of our own, so no other test's claims or decisions are ours."""

    def make() -> Moderator:
        name = f"mod-{uuid.uuid4().hex[:6]}"
        return Moderator(name=name, token=service.cli("moderator", "add", name, "--role", "moderator").strip())

    return make


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Extra browser windows (separate profiles) for tests with two moderators; page errors fail the test."""
    opened: list[BrowserContext] = []
    errors: list[str] = []

    def make() -> Page:
        context = browser.new_context(
            locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport={"width": 1000, "height": 900}
        )
        context.set_default_timeout(10_000)
        opened.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in opened:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def fresh_phone() -> str:
    """A mobile number no other test (nor the seed) uses, so "this author" is exactly this test's author."""
    return f"098{uuid.uuid4().int % 10**7:07d}"


def submit(service: Service, article_id: str, **fields: Any) -> str:
    status, challenge = service.call("POST", "/api/v1/captchas")
    assert status == 201, challenge
    comment = {
        "author_name": "Nguyễn Văn An",
        "title": "Ý kiến",
        "body": "Bài viết rất hay.",
        "captcha_id": challenge["id"],
        "captcha_answer": TEST_ANSWER,
        **fields,
    }
    status, answer = service.call("POST", f"/api/v1/articles/{article_id}/comments", comment)
    assert status == 202, answer
    comment_id: str = answer["id"]
    return comment_id


def queue(service: Service, article_id: str, status: str) -> list[dict[str, Any]]:
    code, document = service.call(
        "GET", f"/api/v1/moderation/queue?status={status}&article_id={article_id}&limit=200", role="admin"
    )
    assert code == 200, document
    items: list[dict[str, Any]] = document["items"]
    return items


def published_titles(service: Service, article_id: str) -> list[str]:
    status, document = service.call("GET", f"/api/v1/articles/{article_id}/comments?per_page=100")
    assert status == 200, document
    return [item["title"] for item in document["items"]]


def sign_in(page: Page, service: Service, who: Moderator, query: str) -> None:
    """Opens the console and signs in with the keyboard only: type the token, press Enter."""
    page.goto(f"{service.url}/moderation/?{query}")
    page.locator("#token").focus()
    page.keyboard.type(who.token)
    page.keyboard.press("Enter")
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#queue-heading")).to_have_text(re.compile(r"\(\d+\)$"))  # the claimed list is in


def shown_ids(page: Page) -> set[str]:
    return set(page.locator("#queue [data-id]").evaluate_all("rows => rows.map(row => row.dataset.id)"))


def status_says(page: Page, pattern: str) -> None:
    expect(page.locator("#status")).to_contain_text(re.compile(pattern))


# --- signing in and deciding with the keyboard ------------------------------------------------------------------


def test_a_moderator_approves_one_and_rejects_another_with_the_keyboard_only(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page, lan = tab.page, moderator()
    for title in ("Một", "Hai", "Ba"):
        submit(service, article_id, title=title, body=f"Bình luận {title}.\nDòng thứ hai.")
    assert published_titles(service, article_id) == []

    sign_in(page, service, lan, f"article_id={article_id}")

    rows = page.locator("#queue .row-title")
    expect(rows).to_have_text(["Một", "Hai", "Ba"])
    expect(page.locator("#card .comment-title")).to_have_text("Một")
    expect(page.locator("#who")).to_contain_text(lan.name)
    page.keyboard.press("a")
    status_says(page, "Đã duyệt “Một”")
    expect(page.locator("#card .comment-title")).to_have_text("Hai")
    page.keyboard.press("r")
    expect(page.locator("#reason-dialog")).to_be_visible()
    page.keyboard.press("2")
    status_says(page, "Đã từ chối “Hai”")
    expect(page.locator("#reason-dialog")).to_be_hidden()
    expect(page.locator("#card .comment-title")).to_have_text("Ba")

    assert published_titles(service, article_id) == ["Một"]
    [rejected] = queue(service, article_id, "rejected")
    assert (rejected["title"], rejected["reason_code"]) == ("Hai", "offensive")
    assert [item["title"] for item in queue(service, article_id, "pending")] == ["Ba"]

    page.keyboard.press("k")
    expect(page.locator("#card .comment-title")).to_have_text("Hai")
    entry = page.locator('#card .history li[data-type="CommentRejected"]')
    expect(entry).to_contain_text(lan.name)
    expect(entry).to_contain_text("Xúc phạm")
    expect(page.locator("#card .comment-body")).to_have_text("Bình luận Hai.\nDòng thứ hai.")


def test_keys_typed_into_a_field_are_text_not_shortcuts(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page = tab.page
    submit(service, article_id, title="Giữ nguyên")
    sign_in(page, service, moderator(), f"article_id={article_id}")
    expect(page.locator("#queue .row-title")).to_have_text(["Giữ nguyên"])

    page.locator("#f-article").focus()
    page.keyboard.press("End")
    page.keyboard.type("a")

    expect(page.locator("#f-article")).to_have_value(f"{article_id}a")
    assert [item["title"] for item in queue(service, article_id, "pending")] == ["Giữ nguyên"]


def test_a_wrong_token_is_refused_and_signing_out_releases_the_claims(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page, lan = tab.page, moderator()
    submit(service, article_id)
    page.goto(f"{service.url}/moderation/?article_id={article_id}")
    page.locator("#token").fill("not-a-token")
    page.keyboard.press("Enter")
    expect(page.locator("#token-error")).to_have_text("Mã truy cập không đúng hoặc đã bị thu hồi.")
    expect(page.locator("#token")).to_have_attribute("aria-invalid", "true")

    sign_in(page, service, lan, f"article_id={article_id}")
    expect(page.locator("#queue .row")).to_have_count(1)
    assert [item["claimed_by"] for item in queue(service, article_id, "pending")] == [lan.name]
    assert page.evaluate("sessionStorage.getItem('comments.console.token')") == lan.token

    page.reload()
    expect(page.locator("#queue .row")).to_have_count(1)
    page.get_by_role("button", name="Đăng xuất").click()

    expect(page.locator("#signin")).to_be_visible()
    status_says(page, "Đã đăng xuất")
    assert page.evaluate("sessionStorage.getItem('comments.console.token')") is None
    assert [item["claimed_by"] for item in queue(service, article_id, "pending")] == [None]


# --- two moderators, one queue ------------------------------------------------------------------------------------


def test_two_moderators_in_two_windows_never_see_the_same_comment(
    contexts: Callable[[], Page], service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    submitted = {submit(service, article_id, title=f"Ý kiến {number}") for number in range(25)}
    lan, minh = moderator(), moderator()
    first, second = contexts(), contexts()

    sign_in(first, service, lan, f"article_id={article_id}")
    expect(first.locator("#queue .row")).to_have_count(10)
    sign_in(second, service, minh, f"article_id={article_id}")
    expect(second.locator("#queue .row")).to_have_count(10)
    assert not shown_ids(first) & shown_ids(second)

    first.keyboard.press("c")
    expect(first.locator("#queue .row")).to_have_count(15)
    status_says(first, "Đã nhận thêm 5 bình luận; bạn đang giữ 15")
    second.keyboard.press("c")
    status_says(second, "Không còn bình luận chờ duyệt nào để nhận")
    expect(second.locator("#queue .row")).to_have_count(10)

    lans, minhs = shown_ids(first), shown_ids(second)
    assert not lans & minhs
    assert lans | minhs == submitted
    holders = {item["id"]: item["claimed_by"] for item in queue(service, article_id, "pending")}
    assert {holders[comment_id] for comment_id in lans} == {lan.name}
    assert {holders[comment_id] for comment_id in minhs} == {minh.name}

    # Browsing the queue, the second moderator sees who holds the others, and may not decide them.
    second.locator('input[name="view"][value="browse"]').check()
    expect(second.locator("#queue .row")).to_have_count(25)
    taken = sorted(lans)[0]
    second.locator(f'#queue [data-id="{taken}"]').click()
    expect(second.locator("#card .claim-other")).to_contain_text(lan.name)
    second.keyboard.press("a")
    expect(second.locator("#alert")).to_contain_text(f"{lan.name} đang xử lý bình luận này")
    assert {item["id"] for item in queue(service, article_id, "approved")} == set()


# --- optimistic versions ----------------------------------------------------------------------------------------


def test_a_stale_version_shows_the_conflict_and_overwrites_nothing(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page = tab.page
    comment_id = submit(service, article_id, title="Bản gốc", body="Nội dung gốc.")
    sign_in(page, service, moderator(), f"article_id={article_id}")
    expect(page.locator("#card .comment-body")).to_have_text("Nội dung gốc.")
    expect(page.locator("#card [data-version]")).to_have_attribute("data-version", "1")

    # Meanwhile an editor-in-chief (admin, who may override a claim) edits it: version 2.
    status, edited = service.call(
        "POST",
        f"/api/v1/moderation/comments/{comment_id}/edit",
        {"expected_version": 1, "body": "Nội dung đã sửa.", "note": "bỏ số điện thoại"},
        role="admin",
    )
    assert status == 200, edited
    page.keyboard.press("a")

    expect(page.locator("#alert")).to_contain_text("Quyết định của bạn CHƯA được ghi")
    expect(page.locator("#card .notice.conflict")).to_contain_text("phiên bản 2")
    expect(page.locator("#card .comment-body")).to_have_text("Nội dung đã sửa.")
    expect(page.locator("#card [data-version]")).to_have_attribute("data-version", "2")
    assert [item["status"] for item in queue(service, article_id, "pending")] == ["pending"]
    assert published_titles(service, article_id) == []

    # Having seen the edit, the moderator approves version 2.
    page.keyboard.press("a")
    status_says(page, "Đã duyệt “Bản gốc”")
    assert published_titles(service, article_id) == ["Bản gốc"]


# --- the spam wave ----------------------------------------------------------------------------------------------


def test_a_spam_wave_of_fifty_comments_is_rejected_in_one_action(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page, phone = tab.page, fresh_phone()
    wave = {
        submit(
            service,
            article_id,
            author_name="Vay Nhanh 24h",
            phone=phone,
            title=f"Vay tiền nhanh {number}",
            body=f"Vay tiền online, duyệt trong 5 phút, mã {number}.",
        )
        for number in range(50)
    }
    bystander = submit(service, article_id, author_name="Trần Thị Bình", title="Ý kiến thật")

    sign_in(page, service, moderator(), f"article_id={article_id}")
    expect(page.locator("#queue .row")).to_have_count(10)
    expect(page.locator("#card .author")).to_have_text("Vay Nhanh 24h")
    expect(page.locator("#card .related-section h3")).to_contain_text("49")
    page.keyboard.press("x")

    dialog = page.locator("#author-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#author-summary")).to_contain_text("50 bình luận đang chờ duyệt sẽ bị từ chối")
    expect(dialog.locator("#author-summary")).to_contain_text(f"+84{phone[1:]}")
    page.keyboard.press("Enter")

    status_says(page, "Đã từ chối 50 bình luận của Vay Nhanh 24h")
    expect(dialog).to_be_hidden()
    rejected = queue(service, article_id, "rejected")
    assert {item["id"] for item in rejected} == wave
    assert {item["reason_code"] for item in rejected} == {"spam"}
    assert [item["id"] for item in queue(service, article_id, "pending")] == [bystander]
    expect(page.locator("#queue .row.decided")).to_have_count(10)


# --- history, edits, flags -------------------------------------------------------------------------------------


def test_the_history_shows_who_did_what_when_and_why(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page, lan = tab.page, moderator()
    submit(service, article_id, author_name="Lê Văn Cường", phone="0912 000 111", title="Trước", body="Chuyện cũ.")
    submit(
        service,
        article_id,
        author_name="Lê Văn Cường",
        phone="0912 000 111",
        title="GỌI NGAY 0912 000 111",
        body="XEM NGAY TẠI http://a.example http://b.example http://c.example NHANH TAY KẺO HẾT",
    )
    sign_in(page, service, lan, f"article_id={article_id}")
    page.keyboard.press("j")
    expect(page.locator("#card .comment-title")).to_have_text("GỌI NGAY 0912 000 111")

    # Edit: title and body with a note, from the keyboard; Ctrl+Enter saves.
    page.keyboard.press("e")
    expect(page.locator("#edit-dialog")).to_be_visible()
    page.locator("#edit-body").fill("Xem thêm tại trang của tôi.")
    page.keyboard.press("Tab")
    page.keyboard.type("xóa liên kết quảng cáo")
    page.keyboard.press("Control+Enter")
    status_says(page, "Đã sửa")
    expect(page.locator("#card .comment-body")).to_have_text("Xem thêm tại trang của tôi.")

    # Reject with a reason and a note.
    page.keyboard.press("r")
    page.locator("#reason-note").fill("vẫn là quảng cáo")
    page.keyboard.press("Tab")
    page.keyboard.press("1")
    status_says(page, "Đã từ chối")
    expect(page.locator("#card .comment-title")).to_have_text("Trước")
    page.keyboard.press("j")
    expect(page.locator("#card .comment-title")).to_have_text("GỌI NGAY 0912 000 111")

    history = page.locator("#card .history")
    expect(history.locator("li")).to_have_count(3)
    submitted, edited, rejected = (
        history.locator(f'li[data-type="{kind}"]') for kind in ("CommentSubmitted", "CommentEdited", "CommentRejected")
    )
    expect(submitted).to_contain_text("Gửi bình luận bởi độc giả")
    expect(edited).to_contain_text(f"Sửa bởi {lan.name}")
    expect(edited).to_contain_text("Ghi chú: xóa liên kết quảng cáo")
    expect(rejected).to_contain_text(f"Từ chối bởi {lan.name}")
    expect(rejected).to_contain_text("Lý do: Spam, quảng cáo · Ghi chú: vẫn là quảng cáo")
    for entry in (submitted, edited, rejected):
        expect(entry.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    # The original text stays in the history.
    submitted.locator("summary").click()
    expect(submitted.locator("pre")).to_contain_text("http://a.example")
    expect(page.locator("#card .related li")).to_have_count(1)
    expect(page.locator("#card .related")).to_contain_text("Trước")

    item = queue(service, article_id, "rejected")[0]
    flags = page.locator("#card .flags li")
    expect(flags).to_have_count(len(item["flags"]))
    for flag in item["flags"]:
        line = page.locator(f'#card .flags li[data-flag="{flag["code"]}"]').first
        expect(line).to_contain_text(flag["detail"])

    page.keyboard.press("?")
    expect(page.locator("#help-dialog")).to_be_visible()
    expect(page.locator("#help-keys")).to_contain_text("Nhận thêm bình luận để duyệt")
    page.keyboard.press("Escape")
    expect(page.locator("#help-dialog")).to_be_hidden()


# --- safety, languages, screenshots -----------------------------------------------------------------------------


def test_user_text_that_looks_like_html_is_shown_as_text(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page = tab.page
    submit(service, article_id, author_name=f"Kẻ {XSS}", title=f"Tiêu đề {XSS}", body=f"Nội dung {XSS}\n<b>đậm</b>")
    sign_in(page, service, moderator(), f"article_id={article_id}")

    expect(page.locator("#card .comment-title")).to_have_text(f"Tiêu đề {XSS}")
    expect(page.locator("#card .comment-body")).to_have_text(f"Nội dung {XSS}\n<b>đậm</b>")
    expect(page.locator("#card .author")).to_have_text(f"Kẻ {XSS}")
    expect(page.locator("#queue .row-title")).to_have_text([f"Tiêu đề {XSS}"])
    expect(page.locator("#card .history li")).to_have_count(1)
    assert page.locator("img").count() == 0
    assert page.locator("#card b").count() == 0
    assert page.evaluate("window.__xss") is None


def test_the_console_speaks_vietnamese_and_english(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page = tab.page
    submit(service, article_id, title="Song ngữ")
    sign_in(page, service, moderator(), f"article_id={article_id}")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("button", name="Duyệt", exact=True)).to_be_visible()

    page.get_by_role("button", name="Switch to English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    expect(page.locator("#queue-heading")).to_have_text("Yours (1)")
    expect(page.locator("#card .history li")).to_contain_text("Submitted by a reader")
    page.reload()
    expect(page.locator("#queue-heading")).to_have_text("Yours (1)")
    # Both catalogues have the same keys, all the way down.
    missing = page.evaluate(
        """async () => {
            const { CATALOGUE } = await import("/moderation/catalogue.js");
            const keys = (node, prefix) => Object.entries(node).flatMap(([key, value]) =>
                value && typeof value === "object" && !Array.isArray(value)
                    ? keys(value, prefix + key + ".") : [prefix + key]);
            const vi = keys(CATALOGUE.vi, ""), en = keys(CATALOGUE.en, "");
            return [vi.filter((key) => !en.includes(key)), en.filter((key) => !vi.includes(key))];
        }"""
    )
    assert missing == [[], []]
    page.get_by_role("button", name="Chuyển sang tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_claims_are_renewed_while_the_page_is_used_and_not_when_left_alone(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page = tab.page
    page.clock.install()
    for number in range(3):
        submit(service, article_id, title=f"Gia hạn {number}")
    sign_in(page, service, moderator(), f"article_id={article_id}")
    expect(page.locator("#queue .row")).to_have_count(3)

    with page.expect_request(lambda request: request.url.endswith("/api/v1/moderation/claims")) as renewal:
        page.clock.run_for("02:01")
    assert renewal.value.method == "POST"
    assert renewal.value.post_data_json == {"limit": 3, "lease_seconds": 300, "article_id": article_id}

    renewals: list[str] = []
    page.on("request", lambda request: renewals.append(request.url) if "/claims" in request.url else None)
    page.clock.run_for("20:00")
    status_says(page, "không gia hạn")
    count = len(renewals)
    page.clock.run_for("06:00")
    assert len(renewals) == count
    page.keyboard.press("j")
    status_says(page, "đã gia hạn")


def test_a_screenshot_of_a_working_console(
    tab: Tab, service: Service, article_id: str, moderator: Callable[[], Moderator]
) -> None:
    page, phone = tab.page, fresh_phone()
    page.set_viewport_size({"width": 1280, "height": 960})
    submit(
        service,
        article_id,
        author_name="Phạm Thu Hà",
        phone=phone,
        title="Cảm ơn tòa soạn",
        body="Bài viết rất kịp thời.\nMong tòa soạn tiếp tục theo dõi vụ việc.",
    )
    submit(
        service,
        article_id,
        author_name="Phạm Thu Hà",
        phone=phone,
        title="Bổ sung thông tin",
        body=f"Ở phường tôi cũng vậy, ai cần ảnh gọi tôi {phone}.\nXem thêm http://example.com/anh-hien-truong",
    )
    for title, name in (("Ý kiến khác", "Khách"), ("Đề nghị", "Trần Minh"), ("Hỏi thêm", "Lê Hoa")):
        submit(service, article_id, author_name=name, title=title, body="Tôi không đồng ý với bài viết.")
    sign_in(page, service, moderator(), f"article_id={article_id}")
    page.keyboard.press("a")
    status_says(page, "Đã duyệt")
    page.keyboard.press("e")
    page.locator("#edit-body").fill("Ở phường tôi cũng vậy.\nXem thêm http://example.com/anh-hien-truong")
    page.keyboard.press("Tab")
    page.keyboard.type("bỏ số điện thoại trong nội dung")
    page.keyboard.press("Control+Enter")
    status_says(page, "Đã sửa")
    expect(page.locator("#card .history li")).to_have_count(2)
    expect(page.locator("#card .related li")).to_have_count(1)

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
