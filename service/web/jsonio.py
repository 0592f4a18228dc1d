"""Reading request bodies strictly: JSON only, size-limited, valid UTF-8, an object at the top."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from service import text
from service.db import utc
from service.web.errors import ApiError, validation_failed
from service.web.runtime import runtime


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; 415 for another type, 413 over the limit, 400 for bad bytes or syntax."""
    mime = request.content_type
    if mime != "application/json" and not mime.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json (UTF-8)")
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiError(415, "unsupported_media_type", "the only charset accepted is UTF-8")
    if request.content_length is not None and request.content_length > runtime(request).settings.max_body_bytes:
        raise ApiError(
            413, "payload_too_large", f"the body is larger than {runtime(request).settings.max_body_bytes} bytes"
        )
    try:
        raw = await request.read()  # aiohttp raises 413 itself past client_max_size
    except web.RequestPayloadError:
        raise ApiError(400, "malformed_json", "the body cannot be decoded: broken chunks or compression") from None
    try:
        decoded = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as error:
        # Never replace bad bytes silently: a mangled name is worse than a clear refusal.
        raise ApiError(400, "invalid_utf8", f"the body is not valid UTF-8 (byte {error.start})") from None
    try:
        document = json.loads(decoded, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as error:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {error}") from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "the body nests too deeply") from None
    if not isinstance(document, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    return document


class Fields:
    """Collects per-field problems so that a client learns about every bad field in one answer."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.errors: dict[str, str] = {}

    def fail(self, field: str, code: str) -> None:
        self.errors.setdefault(field, code)

    def _raw_text(self, field: str, *, required: bool) -> str | None:
        value = self.document.get(field)
        if value is None:
            if required:
                self.fail(field, "required")
            return None
        if not isinstance(value, str):
            self.fail(field, "must_be_string")
            return None
        return value

    def line(self, field: str, max_len: int, *, required: bool = True) -> str:
        value = self._raw_text(field, required=required)
        if value is None:
            return ""
        try:
            return text.clean_line(value, field, max_len)
        except text.FieldError as error:
            self.fail(field, error.code)
            return ""

    def body(self, field: str, max_len: int) -> str:
        value = self._raw_text(field, required=True)
        if value is None:
            return ""
        try:
            return text.clean_body(value, field, max_len)
        except text.FieldError as error:
            self.fail(field, error.code)
            return ""

    def optional(self, field: str, max_len: int = text.NOTE_MAX_LEN, *, multiline: bool = False) -> str | None:
        value = self._raw_text(field, required=False)
        if value is None:
            return None
        try:
            return text.clean_optional(value, field, max_len, multiline=multiline)
        except text.FieldError as error:
            self.fail(field, error.code)
            return None

    def optional_body(self, field: str, max_len: int) -> str | None:
        if self.document.get(field) is None:
            return None
        return self.body(field, max_len)

    def optional_line(self, field: str, max_len: int) -> str | None:
        if self.document.get(field) is None:
            return None
        return self.line(field, max_len)

    def integer(self, field: str, *, required: bool = True, minimum: int = 0, maximum: int = 2**31 - 1) -> int | None:
        value = self.document.get(field)
        if value is None:
            if required:
                self.fail(field, "required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "must_be_integer")
            return None
        if not minimum <= value <= maximum:
            self.fail(field, "out_of_range")
            return None
        return value

    def boolean(self, field: str) -> bool | None:
        value = self.document.get(field)
        if value is None:
            self.fail(field, "required")
            return None
        if not isinstance(value, bool):
            self.fail(field, "must_be_boolean")
            return None
        return value

    def choice(self, field: str, choices: tuple[str, ...], *, required: bool = True) -> str | None:
        value = self.document.get(field)
        if value is None:
            if required:
                self.fail(field, "required")
            return None
        if value not in choices:
            self.fail(field, "invalid_choice")
            return None
        return str(value)

    def check(self) -> None:
        if self.errors:
            raise validation_failed(self.errors)


def query_int(request: web.Request, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_failed({name: "must_be_integer"}) from None
    if not minimum <= value <= maximum:
        raise validation_failed({name: "out_of_range"}, f"{name} must be between {minimum} and {maximum}")
    return value


def query_time(request: web.Request, name: str, *, zone_required: bool = False) -> datetime | None:
    """An ISO 8601 query parameter as UTC; 422 (never a 500) for anything unparsable or out of range."""
    raw = request.query.get(name)
    if raw is None:
        return None
    example = "2026-01-31T08:00:00+07:00"
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is None and zone_required:
            raise validation_failed({name: "invalid"}, f"{name} needs a time zone, e.g. {example}")
        return utc(value)
    except (ValueError, OverflowError):
        raise validation_failed({name: "invalid"}, f"{name} is an ISO 8601 time, e.g. {example}") from None
