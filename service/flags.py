"""Automatic flags at submission: word lists compiled to one regex each, plus spam and encoding signals."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from service.events import Flag
from service.text import FieldError, casefold_nfc, fold_diacritics, normalize_phone

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
ENTRY_MAX_LEN = 100
NEAR_DUPLICATE_RATIO = 0.9
RECENT_BODIES_MAX = 20
"""Only the first (most recent) bodies are compared, which bounds the cost of a submission."""
WORD_ORDER_MAX_WORDS = 200
"""Up to this many words both texts are compared in order (difflib); longer ones as bags of words."""
ALL_CAPS_MIN_LETTERS = 12
_DETAIL_MAX_ITEMS = 5

# A word character is a letter or digit (``[^\W_]``) or a combining mark of the blocks used with Latin and
# Cyrillic; the underscore is not, so "cá_độ" reads as two words.
_MARKS = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD_RUN = re.compile(rf"(?:[^\W_]|[{_MARKS}])+")
_BREAKS = "\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
# Text is matched in a canonical form: each run of spaces, punctuation and symbols becomes one space, so the
# words of a phrase match across "kiếm.tiền   online"; line breaks stay, so a phrase never spans two lines.
_GAP = re.compile(rf"(?:[^\w{_BREAKS}{_MARKS}]|_)+")
_NOT_A_WORD_EDGE = rf"[^ {_BREAKS}]"

# Cyrillic and Greek letters drawn like Latin ones, mapped before matching so that "lừа đảo" with a Cyrillic
# "а" still hits "lừa đảo". Case-aware: Greek "Η" looks like "H", its lower case "η" like "n".
_HOMOGLYPHS = str.maketrans(
    "АВЕКМНОРСТУХІЈЅаеорсухіјѕԁһԛԝӏ" + "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοριυνκχ",
    "ABEKMHOPCTYXIJSaeopcyxijsdhqwl" + "ABEZHIKMNOPTYXaopiuvkx",
)


_CYRILLIC_GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
# fold_diacritics letter by letter, for the precomposed Latin letters: str.translate runs in C, and Vietnamese
# text is nothing else. Anything left that is not ASCII goes through fold_diacritics itself; same result.
_LATIN_FOLD = str.maketrans(
    {
        char: folded
        for char in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)])
        if (folded := fold_diacritics(char)) != char
    }
)


def _normalise(text: str) -> str:
    """The form word lists match against: NFKC (fullwidth and styled letters), homoglyphs, case-folded NFC."""
    text = unicodedata.normalize("NFKC", text)
    if _CYRILLIC_GREEK.search(text):
        text = text.translate(_HOMOGLYPHS)
    return casefold_nfc(text)


def _fold(text: str) -> str:
    folded = text.translate(_LATIN_FOLD)
    return folded if folded.isascii() else fold_diacritics(folded)


def _canonical(text: str) -> str:
    return " ".join(_WORD_RUN.findall(text))


def _gaps_closed(text: str) -> str:
    return _GAP.sub(" ", text)


# --- word lists -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One word-list entry: ``text`` as written; ``exact`` keeps diacritics; ``prefix`` also matches longer words."""

    text: str
    exact: bool = False
    prefix: bool = False


class _Node:
    __slots__ = ("children", "end")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.end = ""  # "" not an entry end, "word" ends one, "prefix" ends one that may run on to the word's end


def _emit(node: _Node) -> str:
    # Children before the end: the longest entry is tried first, backtracking to a shorter one.
    alternatives = [re.escape(char) + _emit(child) for char, child in node.children.items()]
    if node.end == "prefix":
        alternatives.append(rf"{_NOT_A_WORD_EDGE}*+")
    elif node.end == "word":
        alternatives.append("")
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def _entry_key(entry: Entry) -> str:
    """The entry's words as the text's will be seen: normalised, folded unless exact, one space apart."""
    normalised = _normalise(entry.text)
    key = _canonical(normalised if entry.exact else _fold(normalised))
    if not key:
        raise ValueError(f"entry {entry.text!r} has no letters or digits")
    if len(key) > ENTRY_MAX_LEN:
        raise ValueError(f"entry {entry.text[:20]!r}... is longer than {ENTRY_MAX_LEN} characters")
    return key


@dataclass(frozen=True, slots=True)
class _Matcher:
    """Many entries in one regex: a trie written as nested alternations, so a search never loops over words.

    It runs on text whose gaps are closed (``_gaps_closed``), where a word edge is a space, a line break or
    the end. Each alternation tries longer entries before the one ending at that node, and the single edge
    check after the trie makes the engine backtrack to a shorter entry when a longer one ends inside a word.
    """

    pattern: re.Pattern[str]
    names: Mapping[str, str]
    prefixes: Mapping[str, str]

    @classmethod
    def build(cls, keys: Sequence[tuple[str, Entry]]) -> _Matcher | None:
        if not keys:
            return None
        root = _Node()
        names: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for key, entry in keys:
            node = root
            for char in key:
                node = node.children.setdefault(char, _Node())
            node.end = "prefix" if entry.prefix or node.end == "prefix" else "word"
            (prefixes if entry.prefix else names).setdefault(key, entry.text)
        pattern = re.compile(rf"(?<!{_NOT_A_WORD_EDGE})(?:{_emit(root)})(?!{_NOT_A_WORD_EDGE})")
        return cls(pattern, names, prefixes)

    def find(self, text: str) -> Iterator[tuple[int, str]]:
        """(start, entry as written) for each hit."""
        for match in self.pattern.finditer(text):
            key = match.group()
            name = self.names.get(key)
            # A prefix entry matched up to the end of a longer word: find the entry by shortening the hit.
            end = len(key)
            while name is None and end > 0:
                name = self.prefixes.get(key[:end])
                end -= 1
            yield match.start(), name or key


@dataclass(frozen=True, slots=True)
class WordList:
    """Entries compiled once, at construction, into at most two regexes: one exact, one diacritic-folded."""

    entries: tuple[Entry, ...] = ()
    _exact: _Matcher | None = field(init=False, repr=False, compare=False)
    _folded: _Matcher | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        exact: list[tuple[str, Entry]] = []
        folded: list[tuple[str, Entry]] = []
        for entry in self.entries:
            (exact if entry.exact else folded).append((_entry_key(entry), entry))
        object.__setattr__(self, "_exact", _Matcher.build(exact))
        object.__setattr__(self, "_folded", _Matcher.build(folded))

    @property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(m.pattern for m in (self._exact, self._folded) if m is not None)

    @property
    def folds(self) -> bool:
        return self._folded is not None

    def find(self, text: str) -> tuple[str, ...]:
        """The entries (as written) found in ``text``, each once, in order of first appearance."""
        normalised = _normalise(text)
        return self._find(_gaps_closed(normalised), _gaps_closed(_fold(normalised)) if self.folds else "")

    def _find(self, normalised: str, folded: str) -> tuple[str, ...]:
        """Hits in ``normalised`` and ``folded``, both with their gaps closed."""
        hits: list[tuple[int, str]] = []
        if self._exact is not None:
            hits += self._exact.find(normalised)
        if self._folded is not None:
            hits += self._folded.find(folded)
        # Folding keeps Vietnamese text's length, so the two kinds of hits sort into reading order.
        return tuple(dict.fromkeys(name for _, name in sorted(hits)))


_COMMENT = re.compile(r"(?:^|\s)#.*")
_LINE_BREAK = re.compile(f"[{_BREAKS}]")


def parse_entry(line: str) -> Entry | None:
    """One line of a word-list file; ``None`` for a blank or comment line. Raises ``ValueError``."""
    if _LINE_BREAK.search(line.strip()):
        raise ValueError("an entry must fit on one line")
    text, _, options = _COMMENT.sub("", line).partition("|")
    text = text.strip()
    if not text:
        if options.strip():
            raise ValueError("options without an entry")
        return None
    words = set(options.replace(",", " ").split())
    if unknown := words - {"exact", "prefix"}:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r} (known: exact, prefix)")
    prefix = "prefix" in words or text.endswith("*")
    entry = Entry(unicodedata.normalize("NFC", text.removesuffix("*").strip()), exact="exact" in words, prefix=prefix)
    _entry_key(entry)
    return entry


def compile_list(entries: Iterable[str]) -> WordList:
    """A word list from lines in the file format (docs/flags.md); errors name the line number."""
    parsed: list[Entry] = []
    for number, line in enumerate(entries, start=1):
        try:
            entry = parse_entry(line)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
        if entry is not None:
            parsed.append(entry)
    return WordList(tuple(parsed))


def load_list(path: Path | str) -> WordList:
    try:
        return compile_list(Path(path).read_text(encoding="utf-8-sig").splitlines())
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


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
    for match in _CYRILLIC_GREEK.finditer(text):
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
        mixed = [word for word in _WORD_RUN.findall(text) if _LATIN.search(word) and _foreign_letter(word)]
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
    return _WORD_RUN.findall(_fold(casefold_nfc(text)))


def _repeated(body: str, recent_bodies: Sequence[str]) -> Flag | None:
    words = _words_for_comparison(body) if recent_bodies else []
    if not words:
        return None
    same = 0
    best = 0.0
    for other in recent_bodies[:RECENT_BODIES_MAX]:
        other_words = _words_for_comparison(other)
        if other_words == words:
            same += 1
            continue
        matcher = SequenceMatcher(None, words, other_words, autojunk=False)
        # The cheap upper bounds first: most bodies differ. ratio() is quadratic, so long texts stop at the
        # bag-of-words bound, which two long texts only reach by sharing nearly all their words anyway.
        if (
            matcher.real_quick_ratio() >= NEAR_DUPLICATE_RATIO
            and (similar := matcher.quick_ratio()) >= NEAR_DUPLICATE_RATIO
        ):
            if max(len(words), len(other_words)) <= WORD_ORDER_MAX_WORDS:
                similar = matcher.ratio()
            best = max(best, similar)
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
        fold = self.banned.folds or self.suspect.folds
        for name, raw in zip(FIELDS, (author_name, title, body), strict=True):
            # Callers pass cleaned (NFC) text; normalising again costs little and keeps screening total.
            text = unicodedata.normalize("NFC", raw)
            normalised = _normalise(text)
            folded = _gaps_closed(_fold(normalised)) if fold else ""
            normalised = _gaps_closed(normalised)
            banned = self.banned._find(normalised, folded)
            suspect = self.suspect._find(normalised, folded)
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


@functools.cache
def default_screener() -> Screener:
    """The bundled lists, ``seeds/wordlists/banned.txt`` and ``suspect.txt``, loaded and compiled once."""
    # Imported here: service.migrate pulls in Alembic, which screening itself never needs.
    from service.migrate import bundled

    folder = bundled("seeds") / "wordlists"
    return Screener(banned=load_list(folder / "banned.txt"), suspect=load_list(folder / "suspect.txt"))
