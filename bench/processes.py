"""Processes the bench starts: the service's command line, its server and the hello-world server, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
READY_SECONDS = 60.0
STOP_SECONDS = 15.0


class BenchError(Exception):
    """A step of the bench failed: the message says which and why."""


@dataclass(frozen=True, slots=True)
class Finished:
    seconds: float
    stdout: str
    stderr: str


def free_port() -> int:
    # The port is free when asked; a server that loses the race exits and its start fails with its log.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def cli(env: Mapping[str, str], *args: str, within: float) -> Finished:
    """Run `python -m service ARGS` from the worktree and time it, start-up included; a failure raises."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "service",
        *args,
        cwd=ROOT,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise BenchError(f"`python -m service {' '.join(args)}` still running after {within:.0f} s") from None
    seconds = time.perf_counter() - started
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    if process.returncode != 0:
        raise BenchError(f"`python -m service {' '.join(args)}` exited {process.returncode}: {stderr.strip()[-600:]}")
    return Finished(seconds, stdout, stderr)


@contextlib.asynccontextmanager
async def serving(argv: Sequence[str], env: Mapping[str, str], ready_url: str, log: Path) -> AsyncIterator[None]:
    """A server process, ready once `ready_url` answers 200, stopped (killed if it must be) when the block ends."""
    with _log_file(log) as output:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=dict(env), stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output
        )
    try:
        await _wait_ready(process, ready_url, log)
        yield
    finally:
        await _stop(process)


async def _wait_ready(process: asyncio.subprocess.Process, url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                break
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with client.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise BenchError(f"server for {url} did not become ready (exit status {process.returncode}): {_tail(log)}")


def _log_file(path: Path) -> BinaryIO:
    return path.open("wb")


def _tail(log: Path) -> str:
    return log.read_text("utf-8", "replace").strip()[-800:]


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)  # aiohttp's run_app shuts down cleanly on SIGINT
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
