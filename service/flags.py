"""Automatic flags at submission: banned and suspect words, links, phones, encoding damage, repeated text."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from service import resources
from service.events import Flag
from service.text import FieldError, casefold_nfc, normalize_phone
from service.wordlists import CYRILLIC_GREEK, WORD_RUN, WordList, fold, gaps_closed, load_list, normalise

FIELDS = ("author_name", "title", "body")
CODES = (
    "banned_word",
    "suspect_word",
    "links",
    "phone_in_body",
    "mojibake",
    "mixed_script",
    "all_caps",
    "repeated_text",
)
LINKS_HELD_AT = 3
"""This many links across the fields hold a comment like a banned word does: link farms are spam."""
NEAR_DUPLICATE_RATIO = 0.9
"""Two bodies are near-duplicates when this share of their words are the same words (Dice over word multisets)."""
RECENT_BODIES_MAX = 20
"""Only the first (most recent) bodies are compared, which bounds the cost of a submission."""
ALL_CAPS_MIN_LETTERS = 12
_DETAIL_MAX_ITEMS = 5


# --- other signals ----------------------------------------------------------------------------------------------
# Details go into the public part of the event, which erasure does not shred: they name list entries, counts
# and code points, never the commenter's own words, numbers or addresses.

_TLDS = (
    "com|net|org|info|biz|vn|xyz|top|club|online|site|shop|store|link|live|io|ru|cn|asia|vip|bet|win|app|dev"
    "|tk|ml|ga|cf|gq|pro|fun|icu|space|website|tech|us|uk|tv|cc|ly|edu|gov|mobi|page|blog|news|click|casino"
)
# Spammers write "abc chấm com" or "abc(.)com" to dodge filters. "co", "me", "la", "to", "in", "do", "so" are
# Vietnamese syllables typed without diacritics, so they count only before a path: "t.me/x", "zalo.me/x".
_DOT = r"(?:\.|\s?[(\[](?:\.|dot)[)\]]\s?|\s\.\s|\s(?:chấm|cham)\s)"
_URL_TAIL = r"[^\s<>\"']"
_LABELS = rf"(?<![\w.\-])(?:[^\W_](?:[\w\-]{{0,61}}[^\W_])?{_DOT}){{1,8}}"
_LINK = re.compile(
    rf"(?:https?|ftp)://{_URL_TAIL}+|www\d{{0,3}}{_DOT}{_URL_TAIL}+"
    rf"|{_LABELS}(?:(?:{_TLDS})(?![^\W_])(?:/{_URL_TAIL}*)?|(?:co|me|la|to|in|do|so)/{_URL_TAIL}*)",
    re.IGNORECASE,
)
# A Vietnamese number: +84 / 0084 / 84 / 0, then a 02x landline (10 digits) or a mobile (9), single separators.
_PHONE_SEP = r"[ \u00a0.\-\u2010-\u2015]?"
_PHONE = re.compile(
    rf"(?<![\w+])(?<!\d[.,])(?:\+ ?84|0084|84|0){_PHONE_SEP}(?:\(0\){_PHONE_SEP})?"
    rf"(?:2(?:{_PHONE_SEP}\d){{9}}|[35789](?:{_PHONE_SEP}\d){{8}})(?!\d)"
)
_LETTER = r"[^\W\d_]"
_QUESTION_IN_WORD = re.compile(rf"(?<={_LETTER})\?(?={_LETTER})")


def _cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: decoders that fall back to Latin-1 give C1 controls


_BYTE_OF = {_cp1252(byte): byte for byte in range(0x80, 0x100)}
_CONTINUATION = "[" + "".join(re.escape(_cp1252(byte)) for byte in range(0x80, 0xC0)) + "]"
# UTF-8 read as Windows-1252: "á" (C3 A1) shows as "Ã¡", "ậ" (E1 BA AD) as "áº­", "ư" (C6 B0) as "Æ°".
# The leads are those of Vietnamese letters and punctuation. After "Ã" only the lowercase continuations count,
# since "ĐÃ”" (an all-caps "đã" before a closing quote) is legitimate text.
_DOUBLE_ENCODED = re.compile(rf"Ã[\u00a0-\u00bf]|[ÂÄÅÆ]{_CONTINUATION}|[áâ]{_CONTINUATION}{{2}}")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff]")


def _quoted(items: Sequence[str]) -> str:
    shown = ", ".join(f'"{item}"' for item in items[:_DETAIL_MAX_ITEMS])
    more = len(items) - _DETAIL_MAX_ITEMS
    return shown + (f" and {more} more" if more > 0 else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _word_flag(code: str, name: str, words: Sequence[str]) -> Flag:
    label = code.replace("_word", "")
    return Flag(code=code, field=name, detail=f"{label} {'word' if len(words) == 1 else 'words'} {_quoted(words)}")


def _phone_count(text: str) -> int:
    count = 0
    for match in _PHONE.finditer(text):
        try:
            normalize_phone(match.group())
        except FieldError:
            continue
        count += 1
    return count


def _mojibake(text: str) -> str | None:
    """Why ``text`` looks mis-encoded, or ``None``; links are removed beforehand (their "?" are queries)."""
    questions = len(_QUESTION_IN_WORD.findall(text))
    replacements = text.count("\ufffd")
    decoded = []
    for match in _DOUBLE_ENCODED.finditer(text):
        try:
            decoded.append(bytes(_BYTE_OF[char] for char in match.group()).decode("utf-8"))
        except UnicodeDecodeError:
            continue
    # One "?" between letters is a typo ("sao?vì"); two, or one beside a U+FFFD, is a lost character.
    if not decoded and not replacements and questions < 2:
        return None
    signs = []
    if questions:
        signs.append(f'{questions} "?" inside words')
    if replacements:
        signs.append(f"{replacements} U+FFFD")
    if decoded:
        example = decoded[0] if decoded[0].isprintable() else f"U+{ord(decoded[0]):04X}"
        signs.append(f'{_plural(len(decoded), "UTF-8 sequence")} read as Windows-1252 (e.g. "{example}")')
    return "mis-encoded text: " + ", ".join(signs)


def _foreign_letter(text: str) -> str | None:
    for match in CYRILLIC_GREEK.finditer(text):
        if match.group().isalpha():
            return match.group()
    return None


def _mixed_script(name: str, text: str) -> Flag | None:
    """Latin mixed with Cyrillic or Greek: in a whole name, or inside one word of a title or body."""
    if _foreign_letter(text) is None or not _LATIN.search(text):
        return None
    if name == "author_name":
        letter = _foreign_letter(text)
        count = 1
    else:
        mixed = [word for word in WORD_RUN.findall(text) if _LATIN.search(word) and _foreign_letter(word)]
        if not mixed:
            return None
        letter, count = _foreign_letter(mixed[0]), len(mixed)
    assert letter is not None
    script = unicodedata.name(letter, "").split(" ")[0].capitalize() or "non-Latin"
    where = "the name" if name == "author_name" else _plural(count, "word")
    return Flag(
        code="mixed_script",
        field=name,
        detail=f"{where} mixes Latin and {script} letters (U+{ord(letter):04X} {unicodedata.name(letter, '?')})",
    )


def _all_caps(text: str) -> bool:
    return text.isupper() and sum(map(str.isalpha, text)) >= ALL_CAPS_MIN_LETTERS


def _words_for_comparison(text: str) -> list[str]:
    return WORD_RUN.findall(fold(casefold_nfc(text)))


def _repeated(body: str, recent_bodies: Sequence[str]) -> Flag | None:
    words = _words_for_comparison(body) if recent_bodies else []
    if not words:
        return None
    bag: Counter[str] | None = None
    same = 0
    best = 0.0
    for other in recent_bodies[:RECENT_BODIES_MAX]:
        other_words = _words_for_comparison(other)
        if other_words == words:
            same += 1
            continue
        total = len(words) + len(other_words)
        # The length bound first: most bodies differ in length by more than a near-duplicate can.
        if 2 * min(len(words), len(other_words)) < NEAR_DUPLICATE_RATIO * total:
            continue
        bag = bag if bag is not None else Counter(words)
        shared = sum((bag & Counter(other_words)).values())
        best = max(best, 2 * shared / total)
    if same:
        detail = f"same text as {_plural(same, 'recent comment')} by this author"
    elif best >= NEAR_DUPLICATE_RATIO:
        detail = f"{best:.0%} like a recent comment by this author"
    else:
        return None
    return Flag(code="repeated_text", field="body", detail=detail)


# --- the screener -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Screening:
    """What screening found: the flags to record on ``CommentSubmitted``, and whether to hold the comment."""

    flags: tuple[Flag, ...]
    held: bool
    """Hold for a moderator even where the article is post-moderated: a banned word or ``LINKS_HELD_AT`` links."""


@dataclass(frozen=True, slots=True)
class Screener:
    """Pure: screening reads no file, clock or database; build one at start-up and share it."""

    banned: WordList = field(default_factory=WordList)
    suspect: WordList = field(default_factory=WordList)

    def screen(self, *, author_name: str, title: str, body: str, recent_bodies: Sequence[str] = ()) -> Screening:
        """Flags in field order (name, title, body), each field's in ``CODES`` order; never raises."""
        flags: list[Flag] = []
        banned_hit = False
        links_total = 0
        folding = self.banned.folds or self.suspect.folds
        for name, raw in zip(FIELDS, (author_name, title, body), strict=True):
            # Callers pass cleaned (NFC) text; normalising again costs little and keeps screening total.
            text = unicodedata.normalize("NFC", raw)
            normalised = normalise(text)
            folded = gaps_closed(fold(normalised)) if folding else ""
            normalised = gaps_closed(normalised)
            banned = self.banned.find_canonical(normalised, folded)
            suspect = self.suspect.find_canonical(normalised, folded)
            without_links, links = _LINK.subn(" ", text)
            banned_hit = banned_hit or bool(banned)
            links_total += links
            flags += _signals(name, text, without_links, banned=banned, suspect=suspect, links=links)
        if (repeated := _repeated(body, recent_bodies)) is not None:
            flags.append(repeated)
        return Screening(flags=tuple(flags), held=banned_hit or links_total >= LINKS_HELD_AT)


def _signals(
    name: str, text: str, without_links: str, *, banned: Sequence[str], suspect: Sequence[str], links: int
) -> Iterator[Flag]:
    if banned:
        yield _word_flag("banned_word", name, banned)
    if suspect:
        yield _word_flag("suspect_word", name, suspect)
    if links:
        yield Flag(code="links", field=name, detail=_plural(links, "link"))
    prose = name != "author_name"
    if prose and (phones := _phone_count(unicodedata.normalize("NFKC", text))):
        yield Flag(code="phone_in_body", field=name, detail=f"{_plural(phones, 'phone number')} (personal data)")
    if (why := _mojibake(without_links)) is not None:
        yield Flag(code="mojibake", field=name, detail=why)
    if (mixed := _mixed_script(name, text)) is not None:
        yield mixed
    if prose and _all_caps(without_links):
        yield Flag(code="all_caps", field=name, detail="written in capital letters")


def screener_for(banned: Path | None, suspect: Path | None) -> Screener:
    """The configured lists, each falling back to the bundled one."""
    if banned is None and suspect is None:
        return default_screener()
    bundled = default_screener()
    return Screener(
        banned=bundled.banned if banned is None else load_list(banned),
        suspect=bundled.suspect if suspect is None else load_list(suspect),
    )


@functools.cache
def default_screener() -> Screener:
    """The bundled lists, ``seeds/wordlists/banned.txt`` and ``suspect.txt``, loaded and compiled once."""
    folder = resources.bundled("seeds") / "wordlists"
    return Screener(banned=load_list(folder / "banned.txt"), suspect=load_list(folder / "suspect.txt"))
