"""Log lines: JSON, masked by the filter unless the caller masked every field itself."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

from service import logs
from service.redact import PREMASKED, MaskingFilter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("comments.test", logging.INFO, __file__, 1, "reader %s", ("0912 345 678",), None)
    record.__dict__.update(extra)
    return record


def test_the_filter_masks_the_message_and_every_extra_field() -> None:
    record = _record(token="Bearer cmt_abc", nested={"phone": "0912345678"})

    MaskingFilter().filter(record)

    assert record.getMessage() == "reader +8491*****78"
    assert (record.__dict__["token"], record.__dict__["nested"]) == ("Bearer ***", {"phone": "+8491*****78"})


def test_a_premasked_record_passes_untouched_and_its_marker_stays_out_of_the_line() -> None:
    stream = io.StringIO()
    handler = logs.json_handler(stream)
    record = logging.LogRecord("comments.access", logging.INFO, __file__, 1, "request", None, None)
    record.__dict__.update({PREMASKED: True, "route": "/api/v1/counts", "status": 200})

    handler.handle(record)

    line = json.loads(stream.getvalue())
    assert (line["msg"], line["route"], line["status"], line["level"]) == ("request", "/api/v1/counts", 200, "info")
    assert PREMASKED not in line


def test_timestamps_are_utc_with_microseconds_and_a_z() -> None:
    formatter = logs.JsonFormatter()
    moment = datetime(2026, 12, 1, 9, 30, 5, 123456, tzinfo=UTC).timestamp()

    first = formatter.timestamp(moment)
    same_second = formatter.timestamp(moment + 0.5)
    next_second = formatter.timestamp(moment + 1)

    assert first == "2026-12-01T09:30:05.123456Z"
    assert same_second == "2026-12-01T09:30:05.623456Z"
    assert next_second == "2026-12-01T09:30:06.123456Z"
