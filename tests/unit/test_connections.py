"""The connection guard's settings, its file budget and its report, and the aiohttp internals it leans on: an aiohttp
or Python upgrade that moves one of them fails here, by name, before anything subtler breaks."""

from __future__ import annotations

import asyncio
import inspect
import logging
import resource
from asyncio import selector_events

import pytest
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.worker import GunicornWebWorker

from service.metrics import Metrics
from service.settings import Settings, SettingsError
from service.web import connections
from service.web.connections import ACCEPT_FAILED, Tally, connection_cap

# --- settings ------------------------------------------------------------------------------------------------------


def test_the_limits_default_to_ten_thirty_and_fifteen_seconds_and_a_thousand_connections() -> None:
    settings = Settings.from_env({})

    assert (settings.header_timeout, settings.body_timeout, settings.keepalive_timeout) == (10.0, 30.0, 15.0)
    assert settings.max_connections == 1000


def test_the_limits_are_read_from_the_environment_in_seconds() -> None:
    settings = Settings.from_env(
        {
            "COMMENTS_HEADER_TIMEOUT": "2.5",
            "COMMENTS_BODY_TIMEOUT": "20",
            "COMMENTS_KEEPALIVE_TIMEOUT": "5",
            "COMMENTS_MAX_CONNECTIONS": "300",
        }
    )

    assert (settings.header_timeout, settings.body_timeout, settings.keepalive_timeout) == (2.5, 20.0, 5.0)
    assert settings.max_connections == 300


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COMMENTS_HEADER_TIMEOUT", "0"),
        ("COMMENTS_HEADER_TIMEOUT", "soon"),
        ("COMMENTS_BODY_TIMEOUT", "nan"),
        ("COMMENTS_BODY_TIMEOUT", "inf"),
        ("COMMENTS_KEEPALIVE_TIMEOUT", "-1"),
        ("COMMENTS_KEEPALIVE_TIMEOUT", "7200"),
        ("COMMENTS_MAX_CONNECTIONS", "0"),
        ("COMMENTS_MAX_CONNECTIONS", "1e3"),
    ],
)
def test_a_bad_limit_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


# --- the file budget -----------------------------------------------------------------------------------------------


def test_the_cap_is_kept_when_the_soft_file_limit_can_be_raised_to_hold_it(monkeypatch: pytest.MonkeyPatch) -> None:
    raised: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _kind: (1024, 65536))
    monkeypatch.setattr(resource, "setrlimit", lambda _kind, limits: raised.append(limits))

    assert connection_cap(1000) == 1000
    assert raised == [(1000 + connections.FD_RESERVE + connections.BACKLOG, 65536)]


def test_the_cap_shrinks_to_what_a_low_hard_file_limit_holds_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(resource, "getrlimit", lambda _kind: (256, 256))
    monkeypatch.setattr(resource, "setrlimit", lambda _kind, _limits: pytest.fail("cannot be raised"))
    caplog.set_level(logging.WARNING, logger="comments.connections")

    assert connection_cap(1000) == 256 - connections.FD_RESERVE - connections.BACKLOG
    assert ["does not fit the open-file limit of 256" in record.getMessage() for record in caplog.records] == [True]


# --- the report ----------------------------------------------------------------------------------------------------


async def test_closings_are_counted_and_reported_in_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="comments.connections")
    metrics = Metrics()
    tally = Tally(metrics, asyncio.get_running_loop(), interval=0.05)

    for _ in range(500):
        tally.closed("header_timeout")
    for _ in range(20):
        tally.closed("idle")  # routine: counted, never reported
    tally.accept_failed()
    await asyncio.sleep(0.2)

    assert [record.getMessage() for record in caplog.records] == [
        "slow or abusive clients in the last 0.05 s: 1 accept_failed, 500 header_timeout; 0 connections open"
    ]
    assert (metrics.connections_closed["header_timeout"], metrics.connections_closed["idle"]) == (500, 20)
    assert metrics.accept_failures == 1
    assert 'comments_connections_closed_total{reason="header_timeout"} 500' in metrics.render()


async def test_a_quiet_interval_writes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="comments.connections")
    tally = Tally(Metrics(), asyncio.get_running_loop(), interval=0.05)

    tally.closed("idle")
    await asyncio.sleep(0.1)
    tally.report()

    assert caplog.records == []


# --- what we rely on in aiohttp and asyncio (named in service/web/connections.py's docstring) ------------------------


def test_aiohttp_still_builds_its_server_in_the_private_app_runner_make_server() -> None:
    assert inspect.iscoroutinefunction(web.AppRunner._make_server)
    assert list(inspect.signature(web.AppRunner._make_server).parameters) == ["self"]


def test_aiohttp_request_handler_methods_we_override_keep_their_signatures() -> None:
    def parameters(method: object) -> list[str]:
        assert callable(method)
        return list(inspect.signature(method).parameters)

    assert parameters(web.RequestHandler.handle_error) == ["self", "request", "status", "exc", "message"]
    assert parameters(web.RequestHandler.finish_response) == ["self", "request", "resp", "start_time"]
    assert parameters(web.RequestHandler.force_close) == ["self"]
    assert parameters(web.RequestHandler.close) == ["self"]
    for attribute in ("max_line_size", "max_field_size", "max_headers"):
        assert attribute in web.RequestHandler.__slots__


async def test_aiohttp_server_still_exposes_its_handler_and_request_factory() -> None:
    async def handler(_request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    server = web.Server(handler, handler_cancellation=True, loop=asyncio.get_running_loop())

    assert server.request_handler is handler
    assert callable(server.request_factory)
    assert server.handler_cancellation is True


def test_aiohttp_stream_reader_keeps_the_methods_we_call() -> None:
    for name in ("on_eof", "is_eof", "exception", "set_exception", "feed_eof"):
        assert callable(getattr(StreamReader, name)), name


def test_aiohttp_gunicorn_worker_still_serves_an_app_runner_returned_by_a_coroutine() -> None:
    source = inspect.getsource(GunicornWebWorker._run)

    assert "iscoroutinefunction(self.wsgi)" in source
    assert "isinstance(wsgi, web.AppRunner)" in source


def test_asyncio_still_reports_an_accept_without_file_descriptors_in_the_words_we_match() -> None:
    assert f"'{ACCEPT_FAILED}'" in inspect.getsource(selector_events)
