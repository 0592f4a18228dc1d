"""`serve --workers N`: N processes answer on one port under a supervisor that replaces a dead one and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli_runner import cli_env, run_cli

START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own test server)
        return int(response.status), response.read()


def _wait(condition: object, what: str, timeout: float = START_TIMEOUT) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    env = cli_env(database_url) | {"COMMENTS_HOST": "127.0.0.1", "COMMENTS_PORT": str(port)}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(url + "/healthz")[0] == 200, "/healthz")
        yield process, url, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_two_workers_answer_on_one_port_and_a_dead_one_is_replaced(
    served: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, url, log = served
    _wait(lambda: len(_children(process.pid)) == 2, "two workers")
    _wait(lambda: "with 2 workers" in log.read_text(), "the banner")
    assert f"serving on {url}/ with 2 workers" in log.read_text()
    statuses = [_get(url + "/api/v1/counts?article_id=a")[0] for _ in range(20)]
    assert statuses == [200] * 20

    victim = min(_children(process.pid))
    os.kill(victim, signal.SIGKILL)

    _wait(lambda: len(_children(process.pid)) == 2 and victim not in _children(process.pid), "a new worker")
    status, body = _get(url + "/api/v1/counts?article_id=a")
    assert status == 200
    assert json.loads(body) == {"counts": {"a": 0}}


def test_sigterm_stops_the_supervisor_and_its_workers(served: tuple[subprocess.Popen[bytes], str, Path]) -> None:
    process, _url, _log = served
    _wait(lambda: len(_children(process.pid)) == 2, "two workers")
    workers = _children(process.pid)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("value", ["0", "65", "many", "-1"])
def test_a_bad_number_of_workers_is_a_usage_error(database_url: str, value: str) -> None:
    result = run_cli(cli_env(database_url), "serve", "--workers", value)

    assert result.returncode == 2
    assert "--workers takes a number from 1 to 64 or auto" in result.stderr
