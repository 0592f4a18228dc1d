"""Cleaning and validation of user-supplied text: names, titles, bodies, notes and Vietnamese phones."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

# Lengths count code points of the cleaned (NFC) text: "Đức" is 3 whether it arrived composed or decomposed (NFD
# would be 5), and an emoji ZWJ sequence counts every code point it is made of, as Python's len() and PostgreSQL's
# char_length do. Names and titles are one line (clean_line), bodies several (clean_body); all three need at least
# one character. Moderation reasons and notes share NOTE_MAX_LEN and may be empty (clean_optional).
AUTHOR_NAME_MAX_LEN = 80
TITLE_MAX_LEN = 150
BODY_MAX_LEN = 5000
NOTE_MAX_LEN = 1000


class ErrorCode(StrEnum):
    """Machine-readable reasons a field was rejected; API clients switch on these, so never rename one."""

    REQUIRED = "required"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID_CHARACTERS = "invalid_characters"
    INVALID_PHONE = "invalid_phone"
    OBSOLETE_PREFIX = "obsolete_prefix"


class FieldError(ValueError):
    """One input field failed validation; ``code`` is one of :class:`ErrorCode`, kept as a plain ``str``."""

    field: str
    code: str

    def __init__(self, field: str, code: str) -> None:
        # Passing both to ValueError keeps the exception picklable and its args meaningful.
        super().__init__(field, str(code))
        self.field = field
        self.code = str(code)

    def __str__(self) -> str:
        return f"{self.field}: {self.code}"


_SURROGATE = re.compile(r"[\ud800-\udfff]")

# U+FDD0..U+FDEF plus the last two code points of every plane; never valid in interchange.
_NONCHARACTERS = r"\uFDD0-\uFDEF" + "".join(f"\\U{plane:04X}FFFE-\\U{plane:04X}FFFF" for plane in range(17))
_BIDI_OVERRIDES = r"\u202A-\u202E\u2066-\u2069"
_BIDI_MARKS = r"\u200E\u200F\u061C"
_ZERO_WIDTH_JOINERS = r"\u200C\u200D"
_ZERO_WIDTH_OTHERS = r"\u200B\u2060\uFEFF"

# Controls that are also whitespace (\t..\r, \x1c..\x1f, NEL) are left out: in a line they must become a
# space rather than vanish, or "Nguyễn\tVăn" would fuse into one word.
_LINE_DROP = re.compile(
    r"[\x00-\x08\x0E-\x1B\x7F-\x84\x86-\x9F"
    + _BIDI_OVERRIDES
    + _BIDI_MARKS
    + _ZERO_WIDTH_JOINERS
    + _ZERO_WIDTH_OTHERS
    + _NONCHARACTERS
    + "]"
)
_WHITESPACE_RUN = re.compile(r"\s+")

# NEL and the Unicode line/paragraph separators are line breaks too; renderers only understand "\n".
_LINE_BREAK = re.compile(r"\r\n|[\r\x85\u2028\u2029]")
# ZWJ/ZWNJ stay in bodies: ZWJ glues emoji sequences (👨‍👩‍👧) and ZWNJ is orthographic in some scripts.
# The bidi marks (LRM/RLM/ALM) stay too, since they only nudge neutral characters in mixed-direction text,
# whereas the overrides and isolates can make a comment display something other than what it stores.
_BODY_DROP = re.compile(
    r"[\x00-\x08\x0B-\x1F\x7F-\x9F" + _BIDI_OVERRIDES + _ZERO_WIDTH_OTHERS + _NONCHARACTERS + "]",
)
_EXCESS_BLANK_LINES = re.compile(r"\n{4,}")


def _reject_surrogates(value: str, field: str) -> None:
    # A JSON body may legally spell "\ud800"; such a string cannot be encoded as UTF-8 for storage.
    if _SURROGATE.search(value):
        raise FieldError(field, ErrorCode.INVALID_CHARACTERS)


def _check_length(text: str, field: str, max_len: int) -> str:
    if not text:
        raise FieldError(field, ErrorCode.REQUIRED)
    if len(text) > max_len:
        raise FieldError(field, ErrorCode.TOO_LONG)
    return text


def _line_text(value: str, field: str) -> str:
    _reject_surrogates(value, field)
    text = _LINE_DROP.sub("", value)
    # Dropping invisibles first lets "a \u200b b" collapse to a single space.
    text = _WHITESPACE_RUN.sub(" ", text).strip(" ")
    # NFC last: removing a zero-width character can bring a base letter and its combining mark together,
    # and normalising before that would leave the result non-NFC (and the function non-idempotent).
    return unicodedata.normalize("NFC", text)


def _body_text(value: str, field: str) -> str:
    _reject_surrogates(value, field)
    text = _LINE_BREAK.sub("\n", value)
    text = _BODY_DROP.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    # Three newlines in a row are two blank lines, enough for a paragraph break with emphasis.
    text = _EXCESS_BLANK_LINES.sub("\n\n\n", text)
    return text.strip()


def clean_line(value: str, field: str, max_len: int) -> str:
    """Clean single-line text such as an author name or a title.

    NFC-normalises; removes control characters, bidi controls, zero-width characters and noncharacters;
    turns every whitespace run (newlines, NBSP, other Unicode spaces) into one space; trims.

    Raises :class:`FieldError` with code ``required`` if nothing is left, ``too_long`` if more than
    ``max_len`` characters are, and ``invalid_characters`` for lone surrogates.
    """
    return _check_length(_line_text(value, field), field, max_len)


def clean_body(value: str, field: str = "body", max_len: int = BODY_MAX_LEN) -> str:
    """Clean multi-line text such as a comment body.

    NFC-normalises; turns CRLF, CR (and NEL, U+2028, U+2029) into LF; removes control characters other
    than LF and TAB, bidi overrides and isolates, ZWSP, word joiner, BOM and noncharacters, while keeping
    ZWJ and ZWNJ; strips trailing whitespace from each line; allows at most two consecutive blank lines;
    trims the whole text.

    Raises :class:`FieldError` like :func:`clean_line`.
    """
    return _check_length(_body_text(value, field), field, max_len)


def clean_optional(
    value: str | None, field: str, max_len: int = NOTE_MAX_LEN, *, multiline: bool = False
) -> str | None:
    """Clean optional short text such as a moderation reason; ``None`` or blank gives ``None``.

    Uses the :func:`clean_line` rules, or the :func:`clean_body` rules if ``multiline``. Raises
    :class:`FieldError` with ``too_long`` or ``invalid_characters``, never ``required``.
    """
    if value is None:
        return None
    text = _body_text(value, field) if multiline else _line_text(value, field)
    if not text:
        return None
    return _check_length(text, field, max_len)


# --- Vietnamese phone numbers -------------------------------------------------------------------------------

COUNTRY_CODE = "84"
MOBILE_NSN_LEN = 9
"""National significant number (digits after the trunk 0) of a mobile: 09x xxx xxxx."""
LANDLINE_NSN_LEN = 10
"""National significant number of a landline since 2017: 02xx area code (024, 028 included) + subscriber."""
OBSOLETE_MOBILE_NSN_LEN = 10
"""The 01xx xxx xxxx mobiles, renumbered in 2018 (e.g. 0123 → 083); they no longer connect."""

# Unicode dashes are included because phones autocorrect "-" to "–" when people type a number into prose.
_PHONE_SEPARATORS = re.compile(r"[\s.()\-\u2010-\u2015\u2212]+")
_PHONE_SHAPE = re.compile(r"\+?[0-9]+")
# Mobile prefixes of the post-2018 numbering plan, without the trunk 0.
_MOBILE_PREFIX = re.compile(r"3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-9]")
_E164_VN = re.compile(r"\+84[0-9]{9,10}")


def _national_significant_number(compact: str, field: str) -> str:
    """Strip the international or trunk prefix from ``compact`` (digits, maybe a leading "+")."""
    if compact.startswith("+"):
        if not compact.startswith("+" + COUNTRY_CODE):
            # Another country's number: we cannot validate it, and the site only verifies Vietnamese ones.
            raise FieldError(field, ErrorCode.INVALID_PHONE)
        nsn = compact[1 + len(COUNTRY_CODE) :]
    elif compact.startswith("00" + COUNTRY_CODE):
        nsn = compact[2 + len(COUNTRY_CODE) :]
    elif compact.startswith("0"):
        return compact[1:]
    elif compact.startswith(COUNTRY_CODE) and len(compact) >= len(COUNTRY_CODE) + MOBILE_NSN_LEN:
        # Only from 11 digits on: anything shorter could be a national number whose 0 was left off
        # (084 mobiles), and guessing between the two readings would store somebody else's number.
        nsn = compact[len(COUNTRY_CODE) :]
    else:
        raise FieldError(field, ErrorCode.INVALID_PHONE)
    # "+84 (0)912 345 678" keeps the trunk 0 in brackets; no national number starts with 0, so drop it.
    return nsn.removeprefix("0")


def _check_nsn(nsn: str, field: str) -> None:
    if not nsn:
        raise FieldError(field, ErrorCode.TOO_SHORT)
    lead = nsn[0]
    if lead == "1":
        expected = OBSOLETE_MOBILE_NSN_LEN
    elif lead == "2":
        expected = LANDLINE_NSN_LEN
    elif lead in "35789":
        if len(nsn) >= 2 and not _MOBILE_PREFIX.match(nsn):
            raise FieldError(field, ErrorCode.INVALID_PHONE)
        expected = MOBILE_NSN_LEN
    else:
        raise FieldError(field, ErrorCode.INVALID_PHONE)
    if len(nsn) < expected:
        raise FieldError(field, ErrorCode.TOO_SHORT)
    if len(nsn) > expected:
        raise FieldError(field, ErrorCode.TOO_LONG)
    if lead == "1":
        raise FieldError(field, ErrorCode.OBSOLETE_PREFIX)


def normalize_phone(value: str, field: str = "phone") -> str:
    """Validate a Vietnamese phone number and return it in E.164 form, e.g. ``"+84912345678"``.

    Accepts spaces, dots, dashes and parentheses as separators, fullwidth digits, and a leading ``+84``,
    ``0084``, ``0``, or ``84`` when the number has at least 11 digits. Mobiles must use a post-2018 prefix
    (03[2-9], 05[25689], 07[06-9], 08[1-9], 09x); landlines are 02 + 9 digits (area codes not checked).

    Raises :class:`FieldError` with ``required`` (blank), ``obsolete_prefix`` (an 11-digit 01x mobile),
    ``too_short``, ``too_long`` or ``invalid_phone`` (letters, a foreign or unknown prefix).
    """
    # NFKC turns fullwidth digits and "＋" from CJK/Vietnamese IMEs into ASCII.
    text = unicodedata.normalize("NFKC", value)
    if not text.strip():
        raise FieldError(field, ErrorCode.REQUIRED)
    compact = _PHONE_SEPARATORS.sub("", text)
    if not _PHONE_SHAPE.fullmatch(compact):
        raise FieldError(field, ErrorCode.INVALID_PHONE)
    nsn = _national_significant_number(compact, field)
    _check_nsn(nsn, field)
    return "+" + COUNTRY_CODE + nsn


def mask_phone(e164: str) -> str:
    """Mask a number from :func:`normalize_phone` for logs: ``+84912345678`` → ``+8491*****78``.

    Anything that is not such a number gives ``"***"``, since a log line must never leak raw input.
    """
    if not _E164_VN.fullmatch(e164):
        return "***"
    return e164[:5] + "*" * (len(e164) - 7) + e164[-2:]


# --- matching -----------------------------------------------------------------------------------------------

# Đ has no decomposition, so NFD alone leaves it. Ð/ð (eth) are included because some keyboards and fonts
# produce the look-alike U+00D0 for Đ, and word lists must not be dodged that way.
_D_STROKE = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def fold_diacritics(s: str) -> str:
    """Remove Vietnamese diacritics for word-list matching: ``"Nguyễn Văn Đức"`` → ``"Nguyen Van Duc"``.

    Drops every combining mark after NFD, so accents on other Latin letters go too. The result is NFC.
    """
    decomposed = unicodedata.normalize("NFD", s.translate(_D_STROKE))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Recompose whatever NFD split that is not a mark, e.g. Hangul syllables.
    return unicodedata.normalize("NFC", stripped)


def casefold_nfc(s: str) -> str:
    """Case-fold for caseless comparison, returning NFC (canonical caseless match, Unicode D145)."""
    # Casefolding the NFD form catches characters whose folding differs once decomposed (e.g. Greek
    # iota subscript); NFC afterwards keeps the result comparable with stored text.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", s).casefold())
