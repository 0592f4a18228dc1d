"""Browser fixtures: the real service in a subprocess, a news site on another origin, and headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TEST_ANSWER = "TEST7"
SECRET = "browser-tests-secret-key-long-enough-for-the-rules"
START_TIMEOUT = 30.0


def chromium_path() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


MISSING = (
    "Chromium is not installed (neither /usr/bin/chromium nor `chromium` on PATH); "
    "install it with `apt-get install chromium` (`make browser` does so in CI)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under CI=true a missing browser is a failure (raised by the `chromium` fixture), never a quiet skip.
    if chromium_path() is not None or os.environ.get("CI") == "true":
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"{MISSING}: browser tests skipped"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the news site: pages on another origin that embed the widget ------------------------------------------------


class Site:
    """A tiny HTTP server on its own port (so its own origin) serving pages the tests write."""

    pages: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                document = pages.get(self.path.split("?", 1)[0])
                body = (document or "not found").encode()
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="news-site", daemon=True)

    def page(self, html: str) -> str:
        """Publishes a page and returns its address."""
        path = f"/{uuid.uuid4().hex}.html"
        self.pages[path] = html
        return self.origin + path


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    made = Site()
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


# --- the service -------------------------------------------------------------------------------------------------


@dataclass
class Service:
    url: str
    env: dict[str, str]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "service", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"service {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    def token(self, role: str) -> str:
        if role not in self.tokens:
            self.tokens[role] = self.cli("moderator", "add", f"browser-{role}-{uuid.uuid4().hex[:6]}", "--role", role)
            self.tokens[role] = self.tokens[role].strip()
        return self.tokens[role]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        role: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if role is not None:
            sent["Authorization"] = f"Bearer {self.token(role)}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own test server)
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def pending(self, article_id: str) -> list[dict[str, Any]]:
        status, document = self.call(
            "GET", f"/api/v1/moderation/queue?status=pending&article_id={article_id}&limit=100", role="moderator"
        )
        assert status == 200, document
        items: list[dict[str, Any]] = document["items"]
        return items

    def approve(self, article_id: str, title: str) -> dict[str, Any]:
        """Approves the one pending comment of the article with this title, as a moderator would."""
        [item] = [item for item in self.pending(article_id) if item["title"] == title]
        status, document = self.call(
            "POST",
            f"/api/v1/moderation/comments/{item['id']}/approve",
            {"expected_version": item["version"]},
            role="moderator",
        )
        assert status == 200, document
        return item

    def settings(self, article_id: str, *, moderation: str = "pre", closed: bool = False) -> None:
        status, document = self.call(
            "PUT",
            f"/api/v1/moderation/articles/{article_id}/settings",
            {"moderation": moderation, "closed": closed},
            role="admin",
        )
        assert status == 200, document

    def publish(self, article_id: str, count: int) -> None:
        """Publishes comments straight through the API (the article is set to post-moderation first)."""
        self.settings(article_id, moderation="post")
        for number in range(1, count + 1):
            status, challenge = self.call("POST", "/api/v1/captchas")
            assert status == 201, challenge
            comment = {
                "author_name": f"Độc giả {number}",
                "title": f"Ý kiến số {number}",
                "body": f"Nội dung bình luận số {number}.",
                "captcha_id": challenge["id"],
                "captcha_answer": TEST_ANSWER,
            }
            status, answer = self.call("POST", f"/api/v1/articles/{article_id}/comments", comment)
            assert status == 202, answer
            assert answer["status"] == "published", answer


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait(timeout=10)
    pytest.fail(f"the service did not answer /healthz within {START_TIMEOUT:.0f}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, site: Site) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMMENTS_")}
    env.update(
        {
            "COMMENTS_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'comments.db'}",
            "COMMENTS_SECRET_KEY": SECRET,
            "COMMENTS_CAPTCHA_TEST_ANSWER": TEST_ANSWER,
            "COMMENTS_MIN_SUBMIT_SECONDS": "0",
            "COMMENTS_RATE_LIMIT": "0",
            "COMMENTS_CAPTCHA_RATE_LIMIT": "0",
            "COMMENTS_CAPTCHA_RENDER_RATE_LIMIT": "0",
            "COMMENTS_ARTICLE_RATE_LIMIT": "0",
            "COMMENTS_HOST": "127.0.0.1",
            "COMMENTS_PORT": str(port),
            "COMMENTS_ALLOWED_ORIGINS": site.origin,
        }
    )
    made = Service(url=f"http://127.0.0.1:{port}", env=env, log=folder / "serve.log")
    made.cli("migrate")
    made.cli("seed")
    with made.log.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder
        )
        try:
            _wait_until_up(process, made.url, made.log)
            yield made
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# --- the browser -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MISSING}: CI=true requires the browser tests to run")
        pytest.skip(f"{MISSING}: browser tests skipped")
    return path


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Per module, not per session: while the driver lives, its event loop counts as running in this thread, and
    # the other suites' asyncio.run() calls would fail. Ended here, it is gone before the next module starts.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@dataclass
class Tab:
    page: Page
    errors: list[str]


@pytest.fixture
def tab(browser: Browser, service: Service) -> Iterator[Tab]:
    """A fresh browser profile in Vietnamese on a laptop-sized screen; uncaught script errors fail the test."""
    context = browser.new_context(
        locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport={"width": 1000, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    opened = Tab(page=page, errors=errors)
    yield opened
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def browser_phone(browser: Browser, service: Service) -> Iterator[Page]:
    """A small phone: 360 CSS pixels wide, touch, at twice the density."""
    context = browser.new_context(
        locale="vi-VN",
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def article_id() -> str:
    """A fresh article: the API knows any well-formed id, so each test can have a thread of its own."""
    return f"browser-{uuid.uuid4().hex[:12]}"
