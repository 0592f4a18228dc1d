"""The widget in headless Chromium against the real service: what a reader sees, types and gets back."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from html import escape

import pytest
from playwright.sync_api import Locator, Page, Request, Route, expect

from tests.browser.conftest import ARTIFACTS, Service, Site, Tab

pytestmark = pytest.mark.browser

DEMO_ARTICLE = "bac-tu-liem-thi-dua-bau-cu"
DEMO = f"/demo/articles/{DEMO_ARTICLE}"
XSS = "<img src=x onerror=window.__xss=1>"
CAPTCHA_IMAGE = re.compile(r"^http://127\.0\.0\.1:\d+/api/v1/captchas/[^/]+/image\.png$")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def embed(site: Site, service: Service, *articles: str, lang: str = "vi", data_lang: str | None = None) -> str:
    """A news article page on another origin that embeds one widget per article id, as a news site would."""
    attribute = f' data-lang="{data_lang}"' if data_lang else ""
    widgets = "\n".join(
        f'<div id="w{number}"></div><script src="{service.url}/widget.js" data-article-id="{escape(article)}"'
        f"{attribute} async></script>"
        for number, article in enumerate(articles, 1)
    )
    return site.page(
        f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Báo mẫu</title></head>
<body><h1>Bài báo mẫu</h1><p>Nội dung bài viết.</p>
{widgets}
</body></html>"""
    )


def box(widget: Locator, name: str) -> Locator:
    """A text field by its accessible name, which is what a screen reader announces."""
    return widget.get_by_role("textbox", name=name, exact=True)


def fill_form(widget: Locator, *, name: str, title: str, body: str, phone: str = "", code: str = "") -> None:
    box(widget, "Họ và tên").fill(name)
    box(widget, "Số điện thoại").fill(phone)
    box(widget, "Tiêu đề").fill(title)
    box(widget, "Nội dung").fill(body)
    box(widget, "Mã bảo mật").fill(code)


def submit(widget: Locator) -> None:
    widget.get_by_role("button", name="Gửi bình luận").click()


def comment(widget: Locator, title: str) -> Locator:
    return widget.locator("li.c").filter(has=widget.page.get_by_role("heading", name=title, exact=True)).first


def expect_receipt(widget: Locator, text: str) -> None:
    receipt = widget.locator(".receipt")
    expect(receipt).to_be_visible()
    expect(receipt).to_contain_text(text)


def focused(page: Page) -> str:
    """The focused element, through shadow roots: its id, or for a button its text."""
    return str(
        page.evaluate(
            """() => {
                let element = document.activeElement;
                while (element && element.shadowRoot && element.shadowRoot.activeElement)
                    element = element.shadowRoot.activeElement;
                if (!element) return "";
                return element.id || (element.tagName === "BUTTON" ? element.textContent : element.tagName);
            }"""
        )
    )


# The widget waits out Retry-After (1 s) between its three sends: on two busy cores the whole exchange can take longer
# than expect()'s default 5 s.
RETRIES_TIMEOUT_MS = 30_000


def refuse(route: Route, site: Site, status: int, *, retry_after: int, code: str, message: str) -> None:
    """Answer an intercepted request as the service refuses one: the contract's error body, CORS for the embedding
    site, and a Retry-After the widget may read."""
    route.fulfill(
        status=status,
        headers={
            "Content-Type": "application/json",
            "Retry-After": str(retry_after),
            "Access-Control-Allow-Origin": site.origin,
            "Access-Control-Expose-Headers": "Retry-After",
        },
        body=json.dumps({"error": {"code": code, "message": message}}),
    )


def test_a_reader_comments_in_vietnamese_and_sees_exactly_that_text_after_approval(tab: Tab, service: Service) -> None:
    page = tab.page
    page.goto(service.url + DEMO)
    widget = page.locator("#comments")
    name = nfd("Nguyễn Thị Ánh Tuyết")
    title = nfd("Ý kiến về cuộc bầu cử")
    body = nfd("Dòng thứ nhất: rất đồng tình với quận.\nDòng thứ hai: mong được phát huy hơn nữa!")
    fill_form(widget, name=name, title=title, body=body, phone="0912 345 678")
    image = widget.get_by_role("img", name=re.compile("^Mã bảo mật dạng hình"))
    expect(image).to_have_attribute("src", CAPTCHA_IMAGE)
    first_image = image.get_attribute("src")

    widget.get_by_role("button", name="Lấy lại mã bảo mật").click()

    expect(image).not_to_have_attribute("src", first_image or "")
    expect(image).to_have_attribute("src", CAPTCHA_IMAGE)
    expect(box(widget, "Họ và tên")).to_have_value(name)
    expect(box(widget, "Số điện thoại")).to_have_value("0912 345 678")
    expect(box(widget, "Tiêu đề")).to_have_value(title)
    expect(box(widget, "Nội dung")).to_have_value(body)
    second_image = image.get_attribute("src")

    code = box(widget, "Mã bảo mật")
    code.fill("ABCDE")
    submit(widget)

    expect(widget.locator("#f-captcha_answer-error")).to_have_text(re.compile("^Mã bảo mật không đúng"))
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_be_focused()
    expect(code).to_have_value("")
    expect(image).not_to_have_attribute("src", second_image or "")
    expect(box(widget, "Tiêu đề")).to_have_value(title)
    expect(box(widget, "Nội dung")).to_have_value(body)

    code.fill("test7")  # the code is not case-sensitive
    submit(widget)

    receipt = widget.locator(".receipt")
    expect(receipt).to_contain_text("Bình luận của bạn đang chờ duyệt")
    expect(receipt).to_be_focused()
    expect(widget.get_by_role("status").filter(has_text="Bình luận của bạn đang chờ duyệt")).to_have_count(1)

    service.approve(DEMO_ARTICLE, nfc(title))
    page.reload()

    published = comment(widget, nfc(title))
    expect(published.locator(".name")).to_have_text(nfc(name))
    assert published.locator(".body").text_content() == nfc(body)
    assert published.locator(".body").evaluate("element => getComputedStyle(element).whiteSpace") == "pre-wrap"
    expect(published.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(widget).not_to_contain_text("0912")
    expect(widget).not_to_contain_text("345 678")

    published.get_by_role("button", name=f"Trả lời bình luận của {nfc(name)}").click()
    expect(widget.locator(".replying")).to_contain_text(f"Trả lời {nfc(name)}")
    reply_title = "Cảm ơn chị Tuyết"
    fill_form(widget, name="Lê Văn Bình", title=reply_title, body="Đồng ý với chị.", code="TEST7")
    submit(widget)
    expect_receipt(widget, "Bình luận của bạn đang chờ duyệt")

    service.approve(DEMO_ARTICLE, reply_title)
    page.reload()

    reply = comment(widget, nfc(title)).locator(".replies li.c")
    expect(reply).to_have_count(1)
    expect(reply.locator(".name")).to_have_text("Lê Văn Bình")
    expect(reply.get_by_role("heading")).to_have_text(reply_title)
    expect(reply.get_by_role("button", name=re.compile("^Trả lời"))).to_have_count(0)  # one level of replies
    ARTIFACTS.mkdir(exist_ok=True)
    comment(widget, nfc(title)).scroll_into_view_if_needed()
    widget.screenshot(path=str(ARTIFACTS / "widget.png"))


def test_html_typed_in_every_field_is_shown_as_text(tab: Tab, service: Service, site: Site, article_id: str) -> None:
    page = tab.page
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    title = XSS + "<script>window.__xss=2</script>"
    body = '"><svg onload=window.__xss=3>\n<b>đậm</b> & <a href="javascript:window.__xss=4">link</a>'
    fill_form(widget, name=XSS, title=title, body=body, phone=XSS, code="TEST7")
    submit(widget)

    phone = box(widget, "Số điện thoại")
    expect(widget.locator("#f-phone-error")).to_have_text("Số điện thoại không hợp lệ. Ví dụ: 0912 345 678.")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_be_focused()
    expect(phone).to_have_value(XSS)

    phone.fill("")
    submit(widget)
    expect_receipt(widget, "Bình luận của bạn đang chờ duyệt")
    service.approve(article_id, title)
    page.reload()

    shown = comment(widget, title)
    expect(shown.locator(".name")).to_have_text(XSS)
    assert shown.locator(".body").text_content() == body
    shown.get_by_role("button", name=f"Trả lời bình luận của {XSS}").click()
    expect(widget.locator(".replying")).to_have_text(re.compile(re.escape(f"Trả lời {XSS}")))
    widget.get_by_role("button", name="Hủy trả lời").click()
    expect(widget.locator(".replying")).to_be_hidden()
    injected = "#w1 >> css=.w img:not(.cap-img), .w svg, .w script, .w b, .w a"
    expect(page.locator(injected)).to_have_count(0)
    expect(page.locator("#w1 >> css=.w img")).to_have_count(1)  # the CAPTCHA, so the selector does see inside
    assert page.evaluate("window.__xss") is None


def test_the_english_catalogue_is_used_when_the_page_asks(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    service.publish(article_id, 1)
    page = tab.page
    page.goto(embed(site, service, article_id, data_lang="en"))
    widget = page.locator("#w1")

    expect(widget.get_by_role("heading", name="Comments (1)")).to_be_visible()
    for label in ("Full name", "Phone number", "Title", "Comment", "Security code"):
        expect(box(widget, label)).to_be_visible()
    for button in ("Listen to the code", "Get a new code", "Post comment", "Reply to Độc giả 1"):
        expect(widget.get_by_role("button", name=button)).to_be_visible()
    expect(widget.get_by_role("img", name=re.compile("^Security code picture"))).to_be_visible()
    # en-GB: "just now · 25 Nov 2026, 17:30"
    expect(widget.locator("time")).to_have_text(re.compile(r"^just now · \d{1,2} [A-Z][a-z]{2,3} \d{4}, \d\d:\d\d$"))

    widget.get_by_role("button", name="Post comment").click()

    expect(widget.locator("#f-author_name-error")).to_have_text("Please enter your full name.")
    expect(widget.locator("#f-title-error")).to_have_text("Please enter a title.")
    expect(widget.locator("#f-body-error")).to_have_text("Please write your comment.")
    expect(widget.locator("#f-captcha_answer-error")).to_have_text("Please type the security code.")
    expect(box(widget, "Full name")).to_be_focused()
    expect(box(widget, "Full name")).to_have_attribute("aria-describedby", "f-author_name-error")
    expect(widget).not_to_contain_text("Bình luận")


def test_the_page_language_chooses_the_catalogue(tab: Tab, service: Service, site: Site, article_id: str) -> None:
    page = tab.page
    page.goto(embed(site, service, article_id, lang="en-US"))

    expect(page.locator("#w1").get_by_role("heading", name="Comments (0)")).to_be_visible()
    expect(page.locator("#w1")).to_contain_text("No comments yet. Be the first to comment!")


def test_a_comment_goes_from_typing_to_published_with_the_keyboard_only(tab: Tab, service: Service) -> None:
    page = tab.page
    page.goto(service.url + DEMO)
    keyboard = page.keyboard
    title = unique("Gửi bằng bàn phím")
    for _ in range(40):
        keyboard.press("Tab")
        if focused(page) == "f-author_name":
            break
    else:
        pytest.fail("Tab never reached the name field")

    keyboard.type("Trần Quốc Toản")
    order = [focused(page)]
    keyboard.press("Tab")
    order.append(focused(page))
    keyboard.press("Tab")
    order.append(focused(page))
    keyboard.type(title)
    keyboard.press("Tab")
    order.append(focused(page))
    keyboard.type("Dòng một.")
    keyboard.press("Enter")
    keyboard.type("Dòng hai.")
    for _ in range(2):
        keyboard.press("Tab")
        order.append(focused(page))
    image = page.locator("#comments .cap-img")
    expect(image).to_have_attribute("src", CAPTCHA_IMAGE)
    before = image.get_attribute("src")
    keyboard.press("Enter")  # on "Lấy lại mã bảo mật"
    expect(image).not_to_have_attribute("src", before or "")
    assert focused(page) == "Lấy lại mã bảo mật"
    keyboard.press("Tab")
    order.append(focused(page))
    keyboard.type("TEST7")
    keyboard.press("Enter")

    assert order == [
        "f-author_name",
        "f-phone",
        "f-title",
        "f-body",
        "Nghe mã bảo mật",
        "Lấy lại mã bảo mật",
        "f-captcha_answer",
    ]
    receipt = page.locator("#comments .receipt")
    expect(receipt).to_contain_text("Bình luận của bạn đang chờ duyệt")
    expect(receipt).to_be_focused()
    keyboard.press("Tab")
    assert focused(page) == "Viết bình luận khác"
    keyboard.press("Enter")
    expect(page.locator("#comments form")).to_be_visible()
    assert focused(page) == "f-title"  # the name is kept for the next comment

    service.approve(DEMO_ARTICLE, title)
    page.reload()
    assert comment(page.locator("#comments"), title).locator(".body").text_content() == "Dòng một.\nDòng hai."


def test_the_audio_button_plays_the_challenge(tab: Tab, service: Service, site: Site, article_id: str) -> None:
    page = tab.page
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    expect(widget.locator(".cap-img")).to_have_attribute("src", CAPTCHA_IMAGE)

    with page.expect_response(re.compile(r"/api/v1/captchas/[^/]+/audio\.wav$")) as audio:
        widget.get_by_role("button", name="Nghe mã bảo mật").click()

    assert audio.value.status == 200
    assert audio.value.header_value("content-type") == "audio/wav"


def test_a_double_click_and_a_retry_after_a_lost_answer_make_one_comment(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    page = tab.page
    posts: list[tuple[str, int]] = []

    def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        response = route.fetch()
        posts.append((route.request.headers["idempotency-key"], response.status))
        if len(posts) == 1:
            route.abort("connectionreset")  # the server did accept it: only the answer is lost
        else:
            route.fulfill(response=response)

    page.route(f"{service.url}/api/v1/articles/*/comments", lose_the_first_answer)
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    title = unique("Bấm hai lần")
    fill_form(widget, name="Phạm Văn Đồng", title=title, body="Một lần thôi.", code="TEST7")

    widget.get_by_role("button", name="Gửi bình luận").dblclick()

    expect(widget.locator("form .msg")).to_contain_text("Không kết nối được máy chủ bình luận")
    expect(box(widget, "Nội dung")).to_have_value("Một lần thôi.")
    assert len(posts) == 1
    submit(widget)
    expect_receipt(widget, "Bình luận của bạn đang chờ duyệt")
    assert [status for _, status in posts] == [202, 202]
    assert posts[0][0] == posts[1][0]
    assert re.fullmatch(r"[0-9a-f]{32}", posts[0][0])
    assert [item["title"] for item in service.pending(article_id)] == [title]

    widget.get_by_role("button", name="Viết bình luận khác").click()
    fill_form(widget, name="Phạm Văn Đồng", title=unique("Bình luận thứ hai"), body="Khác.", code="TEST7")
    submit(widget)
    expect_receipt(widget, "Bình luận của bạn đang chờ duyệt")
    assert len(posts) == 3
    assert posts[2][0] != posts[0][0]  # a new comment, a new key
    assert len(service.pending(article_id)) == 2


def test_server_refusals_become_messages_and_keep_the_text(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    page = tab.page
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    fill_form(widget, name="Hoàng Văn Thụ", title="Số cũ", body="Nội dung.", phone="0168 123 4567", code="TEST7")
    submit(widget)
    expect(widget.locator("#f-phone-error")).to_contain_text("đã chuyển sang 10 chữ số từ năm 2018")
    expect(widget.locator("form .msg")).to_have_text("Vui lòng kiểm tra lại các mục được đánh dấu.")
    expect(box(widget, "Số điện thoại")).to_be_focused()

    def too_fast(route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        refuse(route, site, 429, retry_after=42, code="rate_limited", message="too many comments")

    page.route(f"{service.url}/api/v1/articles/*/comments", too_fast)
    box(widget, "Số điện thoại").fill("038 123 4567")
    submit(widget)

    expect(widget.locator("form .msg")).to_have_text("Bạn gửi hơi nhanh. Vui lòng thử lại sau 42 giây.")
    expect(box(widget, "Tiêu đề")).to_have_value("Số cũ")
    expect(box(widget, "Số điện thoại")).not_to_have_attribute("aria-invalid", "true")


def test_a_503_is_retried_with_the_same_key_and_the_reader_is_told(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    page = tab.page
    keys: list[str] = []

    def restarting_database(route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            refuse(route, site, 503, retry_after=1, code="unavailable", message="the database is restarting")
        else:
            route.fallback()

    page.route(f"{service.url}/api/v1/articles/*/comments", restarting_database)
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    title = unique("Gửi lại")
    fill_form(widget, name="Nguyễn Thị Định", title=title, body="Sẽ tự gửi lại.", code="TEST7")

    submit(widget)

    expect(widget.locator("form .msg")).to_contain_text("Máy chủ bình luận đang bận", timeout=RETRIES_TIMEOUT_MS)
    expect(widget.locator(".receipt")).to_be_visible(timeout=RETRIES_TIMEOUT_MS)
    expect_receipt(widget, "Bình luận của bạn đang chờ duyệt")
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert [item["title"] for item in service.pending(article_id)] == [title]


def test_a_server_that_stays_unavailable_is_said_plainly_and_keeps_the_text(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    page = tab.page
    sends: list[str] = []

    def down(route: Route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        sends.append(route.request.headers["idempotency-key"])
        refuse(route, site, 503, retry_after=1, code="unavailable", message="down")

    page.route(f"{service.url}/api/v1/articles/*/comments", down)
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    fill_form(widget, name="Nguyễn Thị Định", title="Không gửi được", body="Giữ nguyên.", code="TEST7")

    submit(widget)

    expect(widget.locator("form .msg")).to_have_text(
        "Máy chủ bình luận tạm thời không phản hồi. Nội dung bạn nhập vẫn được giữ nguyên, "
        "vui lòng gửi lại sau ít phút.",
        timeout=RETRIES_TIMEOUT_MS,
    )
    expect(box(widget, "Nội dung")).to_have_value("Giữ nguyên.")
    assert len(sends) == 3
    assert len(set(sends)) == 1


def test_a_post_moderated_article_shows_the_comment_at_once(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    service.settings(article_id, moderation="post")
    page = tab.page
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    expect(widget.get_by_role("heading", name="Bình luận (0)")).to_be_visible()
    expect(widget.locator(".empty")).to_be_visible()
    fill_form(widget, name="Võ Thị Sáu", title="Đăng ngay", body="Không cần chờ.\nHai dòng.", code="TEST7")

    submit(widget)

    expect_receipt(widget, "Bình luận của bạn đã được đăng")
    expect(widget.get_by_role("heading", name="Bình luận (1)")).to_be_visible()
    assert comment(widget, "Đăng ngay").locator(".body").text_content() == "Không cần chờ.\nHai dòng."
    expect(widget.locator(".empty")).to_be_hidden()
    page.reload()
    assert comment(widget, "Đăng ngay").locator(".body").text_content() == "Không cần chờ.\nHai dòng."


def test_a_closed_article_says_comments_are_closed(tab: Tab, service: Service, site: Site, article_id: str) -> None:
    service.publish(article_id, 1)
    page = tab.page
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    fill_form(widget, name="Đinh Bộ Lĩnh", title="Muộn rồi", body="Tiếc quá.", code="TEST7")
    service.settings(article_id, closed=True)  # closed while the reader was typing: the 409 tells

    submit(widget)

    # The note itself, not the live region that announces the same sentence 50 ms later (strict mode would see two).
    closed = widget.locator("p.box").filter(has_text="Bài viết này đã đóng bình luận.")
    expect(closed).to_be_visible()
    expect(closed).to_be_focused()
    expect(widget.locator("form")).to_be_hidden()
    expect(widget.get_by_role("button", name=re.compile("^Trả lời"))).to_have_count(0)

    page.reload()  # the list says so from the start: no form to fill in vain

    expect(closed).to_be_visible()
    expect(widget.locator("form")).to_be_hidden()


def test_long_threads_load_more_and_both_orders_group_replies(
    tab: Tab, service: Service, site: Site, article_id: str
) -> None:
    service.publish(article_id, 23)
    status, first = service.call("GET", f"/api/v1/articles/{article_id}/comments?order=oldest&per_page=1")
    assert status == 200
    status, challenge = service.call("POST", "/api/v1/captchas")
    reply = {
        "author_name": "Người trả lời",
        "title": "Trả lời số 1",
        "body": "Một câu trả lời.",
        "captcha_id": challenge["id"],
        "captcha_answer": "TEST7",
        "parent_id": first["items"][0]["id"],
    }
    assert service.call("POST", f"/api/v1/articles/{article_id}/comments", reply)[0] == 202
    page = tab.page
    page.goto(embed(site, service, article_id))
    widget = page.locator("#w1")
    threads = widget.locator("ol.thread > li.c")

    expect(widget.get_by_role("heading", name="Bình luận (24)")).to_be_visible()
    # Newest first, the reply to the oldest comment is on page 1 but its parent is not: it waits for it.
    expect(threads).to_have_count(19)
    expect(threads.first.get_by_role("heading")).to_have_text("Ý kiến số 23")
    more = widget.get_by_role("button", name="Xem thêm bình luận (4)")
    more.focus()
    page.keyboard.press("Enter")

    expect(threads).to_have_count(23)
    expect(more).to_be_hidden()
    expect(threads.last.get_by_role("heading", name="Ý kiến số 1")).to_be_visible()
    expect(threads.last.locator(".replies li.c")).to_have_text(re.compile("Trả lời số 1"))
    assert focused(page) == "LI"  # the first comment loaded: the keyboard goes on reading from there

    widget.get_by_role("button", name="Cũ nhất").click()

    expect(widget.get_by_role("button", name="Cũ nhất")).to_have_attribute("aria-pressed", "true")
    expect(threads.first.get_by_role("heading", name="Ý kiến số 1")).to_be_visible()
    expect(threads).to_have_count(20)
    # Oldest first, the reply (the latest comment) comes with the last page and goes under its parent.
    widget.get_by_role("button", name="Xem thêm bình luận (4)").click()
    expect(threads).to_have_count(23)
    expect(threads.first.locator(".replies li.c")).to_have_text(re.compile("Trả lời số 1"))


def test_several_widgets_share_a_page_without_styles_crossing(tab: Tab, service: Service, site: Site) -> None:
    first, second = f"browser-a-{uuid.uuid4().hex[:6]}", f"browser-b-{uuid.uuid4().hex[:6]}"
    hostile = """<style>
div, p, label, input, button, h2, h3, li { color: rgb(255, 0, 0) !important; font: 40px serif !important; }
.box, .c, .w, .f, form { display: none !important; }
</style><script>window.__before = Object.keys(window);</script>"""
    url = embed(site, service, first, second)
    site.pages[url.removeprefix(site.origin)] = (
        site.pages[url.removeprefix(site.origin)]
        .replace("</head>", hostile + "</head>")
        .replace("</body>", '<p class="msg" id="own">Host paragraph</p></body>')
    )
    page = tab.page
    page.goto(url)

    for host in ("#w1", "#w2"):
        name = box(page.locator(host), "Họ và tên")
        expect(name).to_be_visible()
        label = page.locator(host).locator("label[for=f-author_name]")
        assert label.evaluate("e => getComputedStyle(e).fontSize") == "16px"
        assert label.evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    assert page.locator("#own").evaluate("e => getComputedStyle(e).borderLeftWidth") == "0px"
    expect(page.locator("#w1").get_by_role("heading", name="Bình luận (0)")).to_be_visible()
    added = page.evaluate("Object.keys(window).filter(key => !window.__before.includes(key) && key !== '__before')")
    assert added == ["CommentsWidget"]


def test_the_widget_fits_a_small_phone(browser_phone: Page, service: Service) -> None:
    page = browser_phone
    page.goto(service.url + DEMO)
    widget = page.locator("#comments")
    box(widget, "Họ và tên").scroll_into_view_if_needed()  # the code is fetched when the form comes near the screen
    expect(widget.locator(".cap-img")).to_have_attribute("src", CAPTCHA_IMAGE)

    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for label in ("Họ và tên", "Số điện thoại", "Tiêu đề", "Nội dung", "Mã bảo mật"):
        field = box(widget, label)
        assert field.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
        bounds = field.bounding_box()
        assert bounds is not None
        assert bounds["x"] >= 0
        assert bounds["x"] + bounds["width"] <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    widget.locator("form").screenshot(path=str(ARTIFACTS / "widget-phone.png"))


def test_count_js_fills_every_count_with_one_request(tab: Tab, service: Service, site: Site, article_id: str) -> None:
    service.publish(article_id, 3)
    empty = f"browser-empty-{uuid.uuid4().hex[:6]}"
    links = f"""
<a id="a" href="#" data-comment-count-for="{article_id}">…</a>
<a id="b" href="#" data-comment-count-for="{article_id}">…</a>
<span id="c" data-comment-count-for="{article_id}" data-comment-count-format="number">…</span>
<a id="d" href="#" data-comment-count-for="{empty}">…</a>
<span id="e" lang="en" data-comment-count-for="{article_id}">…</span>
<span id="f" data-comment-count-for="not valid!">kept</span>"""
    url = site.page(
        f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Trang chủ</title></head><body>
{links}<script src="{service.url}/count.js" async></script></body></html>"""
    )
    requests: list[Request] = []
    page = tab.page
    page.on("request", lambda request: requests.append(request) if "/api/v1/counts" in request.url else None)
    page.goto(url)

    expect(page.locator("#a")).to_have_text("3 bình luận")
    expect(page.locator("#b")).to_have_text("3 bình luận")
    expect(page.locator("#c")).to_have_text("3")
    expect(page.locator("#d")).to_have_text("Chưa có bình luận")
    expect(page.locator("#e")).to_have_text("3 comments")
    expect(page.locator("#f")).to_have_text("kept")
    assert len(requests) == 1


def test_count_js_asks_in_chunks_of_one_hundred(tab: Tab, service: Service, site: Site) -> None:
    spans = "".join(f'<span data-comment-count-for="browser-many-{number}">…</span>' for number in range(150))
    url = site.page(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Home</title></head><body>
{spans}<script src="{service.url}/count.js"></script></body></html>"""
    )
    requests: list[Request] = []
    page = tab.page
    page.on("request", lambda request: requests.append(request) if "/api/v1/counts" in request.url else None)
    page.goto(url)

    expect(page.get_by_text("No comments")).to_have_count(150)
    assert len(requests) == 2
