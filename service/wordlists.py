"""Word lists for screening: parsed entries compiled into at most two trie-shaped regexes, no per-word loop."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from service.text import casefold_nfc, fold_diacritics

ENTRY_MAX_LEN = 100

# A word character is a letter or digit (``[^\W_]``) or a combining mark of the blocks used with Latin and
# Cyrillic; the underscore is not, so "cá_độ" reads as two words.
_MARKS = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
WORD_RUN = re.compile(rf"(?:[^\W_]|[{_MARKS}])+")
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


CYRILLIC_GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
# fold_diacritics letter by letter, for the precomposed Latin letters: str.translate runs in C, and Vietnamese
# text is nothing else. Anything left that is not ASCII goes through fold_diacritics itself; same result.
_LATIN_FOLD = str.maketrans(
    {
        char: folded
        for char in map(chr, [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)])
        if (folded := fold_diacritics(char)) != char
    }
)


def normalise(text: str) -> str:
    """The form word lists match against: NFKC (fullwidth and styled letters), homoglyphs, case-folded NFC."""
    text = unicodedata.normalize("NFKC", text)
    if CYRILLIC_GREEK.search(text):
        text = text.translate(_HOMOGLYPHS)
    return casefold_nfc(text)


def fold(text: str) -> str:
    folded = text.translate(_LATIN_FOLD)
    return folded if folded.isascii() else fold_diacritics(folded)


def canonical(text: str) -> str:
    return " ".join(WORD_RUN.findall(text))


def gaps_closed(text: str) -> str:
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
    normalised = normalise(entry.text)
    key = canonical(normalised if entry.exact else fold(normalised))
    if not key:
        raise ValueError(f"entry {entry.text!r} has no letters or digits")
    if len(key) > ENTRY_MAX_LEN:
        raise ValueError(f"entry {entry.text[:20]!r}... is longer than {ENTRY_MAX_LEN} characters")
    return key


@dataclass(frozen=True, slots=True)
class _Matcher:
    """Many entries in one regex: a trie written as nested alternations, so a search never loops over words.

    It runs on text whose gaps are closed (``gaps_closed``), where a word edge is a space, a line break or
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
        normalised = normalise(text)
        return self.find_canonical(gaps_closed(normalised), gaps_closed(fold(normalised)) if self.folds else "")

    def find_canonical(self, normalised: str, folded: str) -> tuple[str, ...]:
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
