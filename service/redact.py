"""Masking for logs: phone numbers and bearer tokens never reach a log line, whoever logs them and however."""

from __future__ import annotations

import logging
import re
from typing import Any

from service.text import FieldError, mask_phone, normalize_phone

# Digits with up to two separators between them (URL-encoded ones too: a query string reaches aiohttp's access
# log raw), 9 to 15 digits, not inside a longer word or number: hashes and ids stay whole.
_SEPARATOR = r"(?:[ .\-()\u00a0+]|%20)"
_PHONE_LIKE = re.compile(rf"(?:(?<=%2[Bb])|(?<![\w+%]))(?:\+|\(\+|%2[Bb])?\d(?:{_SEPARATOR}{{0,2}}\d){{8,14}}(?![\w])")
_TOKEN = re.compile(r"cmt_[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]+")
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Set (to True) by a caller whose message and every extra field are masked already, or are ours and hold nothing
# to mask (a route template, a request id we generated, a status): the access log's line per request skips the
# regexes. Nothing a client sends may reach such a record unmasked.
PREMASKED = "premasked"


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    spelled = found.replace("%20", " ").replace("%2B", "+").replace("%2b", "+")
    international = spelled.lstrip("(").startswith("+")
    # A "+" after the first digit is a URL-encoded space.
    candidate = ("+" if international else "") + spelled.lstrip("(+").replace("+", " ")
    try:
        return mask_phone(normalize_phone(candidate))
    except FieldError:
        # A long number that is not a Vietnamese phone: masked only when written like an international one.
        return "***" if international else found


def mask(text: str) -> str:
    """The text with Vietnamese phone numbers masked (+8491*****78), tokens and bearer credentials replaced."""
    text = _BEARER.sub(r"\1 ***", text)
    text = _TOKEN.sub("cmt_***", text)
    return _PHONE_LIKE.sub(_phone, text)


def mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(item) for item in value)
    return value


class MaskingFilter(logging.Filter):
    """Masks the message, its arguments, every extra field and the exception text of each record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.__dict__.get(PREMASKED) is True:
            return True
        try:
            rendered = record.getMessage()
        except (TypeError, ValueError):
            rendered = f"{record.msg} {record.args}"
        record.msg, record.args = mask(rendered), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, mask_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True
