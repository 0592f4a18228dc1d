"""Raw HTTP/1.1 over asyncio streams on 127.0.0.1: what slow, broken or greedy clients send, every wait bounded."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(status_line.split()[1]), headers, body, raw)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(HOST, port), 5)


async def until_closed(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection; TimeoutError if it is still open after `within` s."""
    received = b""
    async with asyncio.timeout(within):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


async def exchange(port: int, data: bytes, within: float = 5.0) -> bytes:
    """Sends `data` on a new connection and returns what comes back until the server closes it."""
    reader, writer = await connect(port)
    try:
        writer.write(data)
        return await until_closed(reader, within)
    finally:
        writer.close()


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> Answer:
    """A GET on a kept-alive connection: the answer is read by its length and the connection stays open."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    async with asyncio.timeout(5):
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(int(parse(head).headers["content-length"]))
    return parse(head + body)


async def get(port: int, path: str, within: float = 2.0) -> tuple[Answer, float]:
    """A GET on a fresh connection, and the seconds from connecting to the whole answer."""
    started = time.perf_counter()
    raw = await exchange(port, f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode(), within)
    return parse(raw), time.perf_counter() - started


async def trickle(port: int, first: bytes, line: bytes, every: float, give_up: float) -> float:
    """Sends `first`, then `line` every `every` seconds; returns the seconds until the server closed the connection.

    TimeoutError if it is still open after `give_up` seconds.
    """
    reader, writer = await connect(port)
    started = time.perf_counter()
    try:
        writer.write(first)
        closed = asyncio.ensure_future(until_closed(reader, give_up))
        while not closed.done():
            await asyncio.wait([closed], timeout=every)
            if not closed.done() and not writer.is_closing():
                writer.write(line)
        await closed
        return time.perf_counter() - started
    finally:
        writer.close()
