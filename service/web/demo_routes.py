"""The demo news site: the seed articles with their published comments rendered server-side and the widget."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from uuid import UUID

from aiohttp import web

from service import published
from service.db import utc
from service.published import PublishedComment
from service.resources import bundled
from service.seeding import SeedArticle, load_articles
from service.web.runtime import runtime

routes = web.RouteTableDef()

VIETNAM = timezone(timedelta(hours=7))
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
SITE_NAME = "Tin Bắc Từ Liêm"

STYLE = """
:root { color-scheme: light; --ink: #222; --muted: #757575; --line: #e5e5e5; --accent: #9f224e; --soft: #f7f7f7; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 17px/1.6 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
a { color: var(--accent); }
a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.masthead { border-bottom: 3px solid var(--accent); background: #fff; }
.masthead .inner, main, footer .inner { max-width: 760px; margin: 0 auto; padding: 0 16px; }
.masthead .inner { display: flex; align-items: baseline; justify-content: space-between; gap: 12px;
  padding-top: 14px; padding-bottom: 10px; }
.brand { font: 700 26px/1.2 Georgia, "Noto Serif", "Times New Roman", serif; color: var(--accent);
  text-decoration: none; }
.tag { font-size: 13px; color: var(--muted); }
main { padding-top: 20px; padding-bottom: 40px; }
h1 { font: 700 30px/1.3 Georgia, "Noto Serif", "Times New Roman", serif; margin: 6px 0 10px; }
.kicker { text-transform: uppercase; letter-spacing: .04em; font-size: 13px; font-weight: 600;
  color: var(--accent); margin: 0; }
.meta, .date { color: var(--muted); font-size: 14px; margin: 0 0 14px; }
.lead { font-weight: 600; font-size: 18px; }
article.story p { margin: 0 0 16px; }
.author { text-align: right; font-weight: 700; }
.intro { background: var(--soft); border-left: 4px solid var(--accent); padding: 12px 16px; margin: 0 0 24px; }
.intro p { margin: 0 0 8px; }
.intro p:last-child { margin-bottom: 0; }
.stories { list-style: none; margin: 0; padding: 0; }
.stories li { border-bottom: 1px solid var(--line); padding: 16px 0; }
.stories h2 { font: 700 21px/1.35 Georgia, "Noto Serif", "Times New Roman", serif; margin: 0 0 6px; }
.stories h2 a { color: var(--ink); text-decoration: none; }
.stories h2 a:hover { color: var(--accent); }
.stories p { margin: 0 0 6px; }
.count { font-size: 14px; color: var(--muted); }
.comments { border-top: 1px solid var(--line); margin-top: 28px; padding-top: 8px; }
.comments h2 { font-size: 20px; margin: 12px 0; }
.thread, .replies { list-style: none; margin: 0; padding: 0; }
.comment { padding: 12px 0; border-bottom: 1px solid var(--line); }
.replies { margin: 10px 0 0 28px; border-left: 2px solid var(--line); padding-left: 14px; }
.replies .comment { border-bottom: 0; padding: 8px 0; }
.comment header { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; }
.comment .name { font-weight: 700; }
.comment time { color: var(--muted); font-size: 13px; }
.comment h3 { font-size: 16px; margin: 4px 0 2px; }
.comment .body { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
.empty { color: var(--muted); font-style: italic; }
footer { border-top: 1px solid var(--line); color: var(--muted); font-size: 14px; padding: 16px 0 32px; }
@media (max-width: 560px) {
  body { font-size: 16px; }
  h1 { font-size: 24px; }
  .replies { margin-left: 12px; padding-left: 10px; }
  .tag { display: none; }
}
"""


@functools.cache
def seed_articles(seeds: Path) -> tuple[SeedArticle, ...]:
    """Read once per process: the seed files never change while the service runs."""
    return load_articles(seeds)


def demo_articles() -> tuple[SeedArticle, ...]:
    try:
        folder = bundled("seeds")
    except FileNotFoundError:
        return ()
    return seed_articles(folder)


def long_date(moment: datetime) -> str:
    local = moment.astimezone(VIETNAM)
    return f"{WEEKDAYS[local.weekday()]}, {local.day}/{local.month}/{local.year}, {local:%H:%M} (GMT+7)"


def short_date(moment: datetime) -> str:
    local = utc(moment).astimezone(VIETNAM)
    return f"{local.day}/{local.month}/{local.year} {local:%H:%M}"


def page(title: str, content: str, *, status: int = 200) -> web.Response:
    document = f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header class="masthead"><div class="inner">
<a class="brand" href="/">{escape(SITE_NAME)}</a>
<span class="tag">Trang minh hoạ dịch vụ bình luận</span>
</div></header>
<main>
{content}
</main>
<footer><div class="inner">
Bản demo · <a href="/moderation/">Trang kiểm duyệt</a> · <a href="/openapi.json">Tài liệu API</a>
</div></footer>
</body>
</html>
"""
    return web.Response(
        text=document, status=status, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-cache"}
    )


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    stories = demo_articles()
    counts = await published.counts(runtime(request).changes, [story.article_id for story in stories])
    items = "\n".join(_story_item(story, counts[story.article_id]) for story in stories)
    listing = f'<ul class="stories">\n{items}\n</ul>' if stories else '<p class="empty">Chưa có bài viết mẫu nào.</p>'
    content = f"""<section class="intro">
<p>Đây là trang tin mẫu để thử dịch vụ bình luận có kiểm duyệt. Độc giả gửi bình luận kèm mã xác nhận; biên tập viên
duyệt trước khi bình luận được đăng. Mọi thao tác được ghi vào một nhật ký sự kiện chỉ-ghi-thêm, có chuỗi băm để
kiểm toán; số điện thoại không bao giờ được công khai.</p>
<p><a href="/moderation/">Trang kiểm duyệt dành cho biên tập viên</a> ·
<a href="/openapi.json">Tài liệu API (OpenAPI 3.1)</a></p>
</section>
<h1>Tin mới</h1>
{listing}"""
    return page(f"{SITE_NAME} — bản demo", content)


def _story_item(story: SeedArticle, count: int) -> str:
    href = f"/demo/articles/{escape(story.slug)}"
    label = f"{count} bình luận" if count else "Chưa có bình luận"
    return f"""<li>
<h2><a href="{href}">{escape(story.title)}</a></h2>
<p class="date"><time datetime="{story.published_at.isoformat()}">{escape(long_date(story.published_at))}</time></p>
<p>{escape(story.lead)}</p>
<p class="count"><a href="{href}#binh-luan">{label}</a></p>
</li>"""


@routes.get("/demo/articles/{slug}")
async def article_page(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    story = next((item for item in demo_articles() if item.slug == slug), None)
    if story is None:
        content = """<h1>Không tìm thấy bài viết</h1>
<p>Bài viết bạn tìm không tồn tại hoặc đã bị gỡ.</p>
<p><a href="/">Về trang chủ</a></p>"""
        return page("Không tìm thấy bài viết", content, status=404)
    # Server-side, for readers without JavaScript and for search engines; the widget renders the same list.
    rows = await published.all_of(runtime(request).db, story.article_id)
    paragraphs = "\n".join(f"<p>{escape(paragraph)}</p>" for paragraph in story.paragraphs)
    article_id = escape(story.article_id)
    content = f"""<article class="story">
<p class="kicker">{escape(story.source)}</p>
<h1>{escape(story.title)}</h1>
<p class="meta"><time datetime="{story.published_at.isoformat()}">{escape(long_date(story.published_at))}</time></p>
<p class="lead">{escape(story.lead)}</p>
{paragraphs}
<p class="author">{escape(story.author)}</p>
</article>
<div id="binh-luan"><div id="comments"></div>
<script src="/widget.js" data-article-id="{article_id}" async></script></div>
<noscript>
<section class="comments" aria-labelledby="binh-luan-tieu-de">
<h2 id="binh-luan-tieu-de">Bình luận ({len(rows)})</h2>
{_thread(rows)}
<p class="empty">Cần bật JavaScript để gửi bình luận.</p>
</section>
</noscript>"""
    return page(f"{story.title} — {SITE_NAME}", content)


def _thread(rows: Sequence[PublishedComment]) -> str:
    if not rows:
        return '<p class="empty">Chưa có bình luận nào được duyệt.</p>'
    shown = {row.comment_id for row in rows}
    replies: defaultdict[UUID, list[PublishedComment]] = defaultdict(list)
    roots: list[PublishedComment] = []
    for row in rows:
        # A reply whose parent was hidden later stays published: it is shown on its own rather than lost.
        if row.parent_id is not None and row.parent_id in shown:
            replies[row.parent_id].append(row)
        else:
            roots.append(row)
    return _list("thread", roots, replies)


def _list(css: str, rows: Iterable[PublishedComment], replies: Mapping[UUID, list[PublishedComment]]) -> str:
    items = "\n".join(_comment(row, replies) for row in rows)
    return f'<ol class="{css}">\n{items}\n</ol>'


def _comment(row: PublishedComment, replies: Mapping[UUID, list[PublishedComment]]) -> str:
    children = replies.get(row.comment_id, [])
    nested = _list("replies", children, replies) if children else ""
    return f"""<li class="comment" id="c-{escape(str(row.comment_id))}"><article>
<header><span class="name">{escape(row.author_name)}</span>
<time datetime="{row.published_at.isoformat()}">{escape(short_date(row.published_at))}</time></header>
<h3>{escape(row.title)}</h3>
<p class="body">{escape(row.body)}</p>
</article>{nested}</li>"""
