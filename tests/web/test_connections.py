"""The connection guard over real sockets: slow heads, bodies and idle connections are cut, the cap holds, and
requests that are not HTTP get the contract's JSON error."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web

from service.settings import Settings
from service.web.app import create_app
from service.web.connections import GRACE_SECONDS, Runner
from service.web.runtime import runtime_key
from tests.conftest import TEST_SECRET, Databases
from tests.sockets import HOST, ask, connect, exchange, get, parse, trickle, until_closed

TEST_ANSWER = "TEST7"
SLACK = 1.5  # what a loaded machine may add to a deadline

Serve = Callable[..., Awaitable[tuple[int, Runner]]]


@pytest.fixture(scope="module")
def sqlite_url(databases: Databases) -> str:
    return databases.new("sqlite")


@pytest.fixture
async def serve(sqlite_url: str) -> AsyncIterator[Serve]:
    """Starts the application behind our Runner on a free port, as `serve` does; settings changed per test.

    It has one more route, `/test/hold`, whose requests are answered only when the test ends: connections busy
    on our side, not waiting on their clients.
    """
    runners: list[Runner] = []
    release = asyncio.Event()

    async def hold(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="released")

    async def start(**changes: Any) -> tuple[int, Runner]:
        settings = Settings(
            database_url=sqlite_url,
            secret_key=TEST_SECRET,
            captcha_test_answer=TEST_ANSWER,
            rate_limit=0,
            captcha_rate_limit=0,
            min_submit_seconds=0,
            header_timeout=0.5,
            body_timeout=0.5,
            keepalive_timeout=0.5,
        )
        settings = replace(settings, **changes)
        app = create_app(settings)
        app.router.add_get("/test/hold", hold)
        runner = Runner(app, settings, shutdown_timeout=1)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, HOST, 0).start()
        return int(runner.addresses[0][1]), runner

    yield start
    release.set()
    for runner in runners:
        await runner.cleanup()


def closed(runner: Runner, reason: str) -> int:
    return runner.app[runtime_key].metrics.connections_closed[reason]


BIG = 9 * 1024
BAD_REQUESTS = [
    pytest.param(b"GARBAGE-zq7 \x01\x02 <script>\r\n\r\n", 400, "bad_request", id="garbage request line"),
    pytest.param(
        b"GET /" + b"zq7" * (BIG // 3) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long", id="9 KB request line"
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-zq7-%d: 1\r\n" % n for n in range(200)) + b"\r\n",
        431,
        "headers_too_large",
        id="200 headers",
    ),
    pytest.param(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"zq7" * (BIG // 3) + b"\r\n\r\n",
        431,
        "headers_too_large",
        id="9 KB header",
    ),
]


@pytest.mark.parametrize(("sent", "status", "code"), BAD_REQUESTS)
async def test_a_request_that_is_not_http_gets_the_contracts_json_error_and_no_echo(
    serve: Serve, sent: bytes, status: int, code: str
) -> None:
    port, runner = await serve()

    answer = parse(await exchange(port, sent))

    assert answer.status == status
    assert answer.json()["error"]["code"] == code
    assert set(answer.json()["error"]) == {"code", "message"}
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["connection"] == "close"
    assert b"zq7" not in answer.raw
    assert closed(runner, "bad_request") == 1


SUBMIT = b"POST /api/v1/articles/bodies/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
BAD_BODIES = [
    pytest.param(SUBMIT + b"Content-Length: 100000\r\n\r\n{", 413, "payload_too_large", id="declared over 64 KiB"),
    pytest.param(
        SUBMIT + b"Transfer-Encoding: chunked\r\n\r\n" + (b"4000\r\n" + b" " * 0x4000 + b"\r\n") * 5 + b"0\r\n\r\n",
        413,
        "payload_too_large",
        id="chunked past 64 KiB",
    ),
    pytest.param(
        SUBMIT + b"Content-Encoding: gzip\r\nContent-Length: 5\r\n\r\nzq7zq", 400, "malformed_json", id="bad gzip"
    ),
    pytest.param(SUBMIT + b"Transfer-Encoding: chunked\r\n\r\nzq7\r\n", 400, "bad_request", id="bad chunk size"),
]


@pytest.mark.parametrize(("sent", "status", "code"), BAD_BODIES)
async def test_a_body_over_its_limit_or_broken_gets_the_contracts_json_error_and_no_traceback(
    serve: Serve, caplog: pytest.LogCaptureFixture, sent: bytes, status: int, code: str
) -> None:
    port, _runner = await serve(keepalive_timeout=0.3)

    answer = parse(await exchange(port, sent))

    assert (answer.status, answer.json()["error"]["code"]) == (status, code)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert b"zq7" not in answer.raw
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_a_head_that_trickles_is_closed_at_the_header_timeout(serve: Serve) -> None:
    port, runner = await serve(header_timeout=0.6)

    held = await trickle(port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: 1\r\n", every=0.1, give_up=0.6 + SLACK)

    assert 0.6 <= held < 0.6 + SLACK
    assert closed(runner, "header_timeout") == 1


async def test_a_silent_new_connection_is_closed_at_the_header_timeout_as_idle(serve: Serve) -> None:
    port, runner = await serve(header_timeout=0.6)
    reader, writer = await connect(port)
    started = time.perf_counter()

    assert await until_closed(reader, 0.6 + SLACK) == b""
    writer.close()

    assert time.perf_counter() - started >= 0.6
    assert (closed(runner, "idle"), closed(runner, "header_timeout")) == (1, 0)


async def test_a_kept_alive_connection_is_served_again_then_closed_when_idle_past_the_limit(serve: Serve) -> None:
    port, runner = await serve(keepalive_timeout=0.6, header_timeout=5)
    reader, writer = await connect(port)
    answers = []
    for pause in (0.2, 0):  # the first pause is well within the keep-alive limit
        answers.append(await ask(reader, writer, "/healthz"))
        await asyncio.sleep(pause)
    idle_from = time.perf_counter()

    assert await until_closed(reader, 0.6 + SLACK) == b""
    writer.close()

    assert [answer.status for answer in answers] == [200, 200]
    assert time.perf_counter() - idle_from >= 0.5  # the server's clock started as it sent, a moment before we read
    assert closed(runner, "idle") == 1


async def test_a_body_that_trickles_into_a_handler_is_answered_408_and_the_connection_closed(serve: Serve) -> None:
    port, runner = await serve(body_timeout=0.6)
    reader, writer = await connect(port)
    started = time.perf_counter()
    writer.write(
        b"POST /api/v1/articles/slow-body/comments HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
    )
    sent = asyncio.ensure_future(until_closed(reader, 0.6 + SLACK))
    while not sent.done():
        await asyncio.wait([sent], timeout=0.1)
        writer.write(b" ")
    answer = parse(await sent)
    writer.close()

    assert 0.6 <= time.perf_counter() - started < 0.6 + SLACK
    assert answer.status == 408
    assert answer.json()["error"]["code"] == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert closed(runner, "body_timeout") == 1


async def test_a_body_that_trickles_after_its_answer_is_cut_at_the_body_timeout(serve: Serve) -> None:
    port, runner = await serve(body_timeout=0.6)
    # Issuing a challenge reads no body: the answer comes at once, the rest of the body never does.
    started = time.perf_counter()
    held = await trickle(
        port,
        b"POST /api/v1/captchas HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
        b"x",
        every=0.1,
        give_up=0.6 + SLACK,
    )

    assert 0.6 <= held < 0.6 + SLACK
    assert time.perf_counter() - started < 0.6 + SLACK
    assert closed(runner, "body_timeout") == 1


async def test_over_the_cap_the_connections_waiting_longest_on_their_clients_make_room(serve: Serve) -> None:
    port, runner = await serve(max_connections=3, header_timeout=30, body_timeout=30, keepalive_timeout=30)
    silent = await connect(port)
    slow_head = await connect(port)
    slow_head[1].write(b"GET /healthz HTTP/1.1\r\n")
    slow_body = await connect(port)
    slow_body[1].write(
        b"POST /api/v1/articles/full/comments HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"
    )
    await asyncio.sleep(0.3)
    newcomers = [await connect(port) for _ in range(3)]

    # Over the cap, the newcomers are served (and stay, kept alive) while the three before them wait on their clients.
    answers = [await ask(reader, writer, "/healthz") for reader, writer in newcomers]

    assert [answer.status for answer in answers] == [200, 200, 200]
    assert await until_closed(silent[0], GRACE_SECONDS + SLACK) == b""
    assert await until_closed(slow_head[0], GRACE_SECONDS + SLACK) == b""
    cut_body = parse(await until_closed(slow_body[0], GRACE_SECONDS + SLACK))
    assert (cut_body.status, cut_body.json()["error"]["code"]) == (408, "request_timeout")
    assert [(await ask(reader, writer, "/healthz")).status for reader, writer in newcomers] == [200, 200, 200]
    assert closed(runner, "evicted") == 3
    for _, writer in (silent, slow_head, slow_body, *newcomers):
        writer.close()


async def test_at_the_cap_with_every_place_busy_answering_a_new_connection_is_closed_at_once(serve: Serve) -> None:
    port, runner = await serve(max_connections=3)
    busy = []
    for _ in range(3):
        reader, writer = await connect(port)
        writer.write(b"GET /test/hold HTTP/1.1\r\nHost: x\r\n\r\n")
        busy.append((reader, writer))
    await asyncio.sleep(0.3)
    reader, writer = await connect(port)
    started = time.perf_counter()

    assert await until_closed(reader, 2) == b""
    writer.close()

    assert time.perf_counter() - started < 1
    assert closed(runner, "over_capacity") == 1
    for _, writer in busy:
        writer.close()


async def test_metrics_count_the_connections_held_and_closed_by_reason(serve: Serve) -> None:
    port, _runner = await serve()
    await exchange(port, b"NOT HTTP\r\n\r\n")

    answer, _ = await get(port, "/metrics")

    text = answer.body.decode()
    assert 'comments_connections_closed_total{reason="bad_request"} 1' in text
    assert "comments_connections_open 1" in text  # the scrape's own connection
    assert "comments_accept_failures_total 0" in text


async def test_healthz_answers_on_a_fresh_connection_while_the_cap_is_full_of_slow_heads(serve: Serve) -> None:
    port, runner = await serve(max_connections=20, header_timeout=1)
    tricklers = [
        asyncio.ensure_future(trickle(port, b"GET / HTTP/1.1\r\n", b"X-Slow: 1\r\n", every=0.2, give_up=1 + SLACK))
        for _ in range(40)
    ]
    await asyncio.sleep(0.3)
    probes = [await get(port, "/healthz") for _ in range(5)]
    held = await asyncio.gather(*tricklers)

    assert [answer.status for answer, _ in probes] == [200] * 5
    assert max(held) < 1 + SLACK
    assert closed(runner, "evicted") + closed(runner, "header_timeout") == 40
