"""Structured logs: one JSON object per line, with the request id when there is one."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any

from service.redact import PREMASKED, MaskingFilter

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", PREMASKED}


class JsonFormatter(logging.Formatter):
    """One JSON object per record; a line per request goes through here, so it is kept lean."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._stamp = ""

    def timestamp(self, created: float) -> str:
        """UTC with microseconds and a Z; the part to the second is formatted once per second."""
        second = int(created)
        if second != self._second:  # handlers format under their lock: no race on the two fields
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((created - second) * 1_000_000):06d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED:
                entry[key] = value
        if record.exc_text:
            entry["exception"] = record.exc_text  # rendered and masked by the MaskingFilter
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_handler(stream: IO[str]) -> logging.Handler:
    """JSON lines on `stream`, every record masked first: phone numbers and tokens never reach a line."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(MaskingFilter())
    return handler


def configure(level: int = logging.INFO) -> None:
    # A record per request: skip collecting what no line shows (the logging HOWTO's "Optimization" section):
    # the caller's file and line (a walk up the stack), the thread, the process.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = json_handler(sys.stderr)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's own access log would duplicate ours, without the request id.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
