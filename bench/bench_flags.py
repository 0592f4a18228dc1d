"""Screening one typical comment with no lists, 100-entry and 10,000-entry lists, against a per-word loop.

Every figure is microseconds per call, best of a few rounds, with ratios against the no-list screening of the
same run, so the numbers compare across machines. Synthetic entries are Vietnamese-like syllables drawn from a
seeded generator: the same lists every run.
"""

from __future__ import annotations

import random
import re
import time
import timeit
from collections.abc import Callable

from service.flags import Screener, Screening
from service.wordlists import compile_list, fold, normalise

AUTHOR = "Nguyễn Văn Hùng"
TITLE = "Giải phóng mặt bằng"
BODY = (
    "Dự án đường gần nhà tôi đã bàn giao mặt bằng từ cuối năm ngoái. Mong thành phố sớm thi công để người dân "
    "đi lại thuận tiện hơn, nhất là đoạn qua trường học. Cảm ơn tòa soạn đã đưa tin kịp thời!"
)
RECENT = ("Bài viết rất hay, cảm ơn tác giả.", "Mong quận tiếp tục đầu tư cho 7 trường còn lại.")
FIELDS = (AUTHOR, TITLE, BODY)
ROUNDS = 5


def _spaced(text: str) -> list[str]:
    return text.split()


_ONSETS = ["", *_spaced("b c ch d đ g gh h k kh l m n ng ngh nh p ph qu r s t th tr v x")]
_RHYMES = _spaced(
    "a á à ả ã ạ ă ắ ằ ẳ ặ â ấ ầ ậ e é è ẻ ẹ ê ế ề ể ệ i í ì ỉ ị o ó ò ỏ ọ ô ố ồ ổ ộ ơ ớ ờ ở ợ u ú ù ủ ụ ư ứ ừ ử ự "
    "y ý ai ao au ay âu ây eo êu ia iu oa oe oi ôi ơi ua uô ui ưa ươ ưu uy"
)
_CODAS = ["", "", "", "c", "ch", "m", "n", "ng", "nh", "p", "t"]


def synthetic_lines(count: int, seed: int) -> list[str]:
    """``count`` distinct entries of one to three syllables, about a third of them ``exact``."""
    rng = random.Random(seed)
    lines: dict[str, None] = {}
    while len(lines) < count:
        syllables = rng.choice((1, 2, 2, 2, 3))
        words = " ".join(rng.choice(_ONSETS) + rng.choice(_RHYMES) + rng.choice(_CODAS) for _ in range(syllables))
        lines[words + (" | exact" if rng.random() < 0.3 else "")] = None
    return list(lines)


def per_call_us(call: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=ROUNDS)) / number * 1e6


def screening(screener: Screener) -> Callable[[], Screening]:
    return lambda: screener.screen(author_name=AUTHOR, title=TITLE, body=BODY, recent_bodies=RECENT)


def naive_loop(banned: list[str], suspect: list[str]) -> Callable[[], object]:
    """What compiling avoids: one regex per entry, each searched in every field, word after word."""
    compiled = []
    for line in banned + suspect:
        text, _, options = line.partition(" |")
        exact = "exact" in options
        key = normalise(text) if exact else fold(normalise(text))
        words = r"[^\w\n]+".join(re.escape(word) for word in key.split())
        compiled.append((re.compile(rf"(?<!\w){words}(?!\w)"), exact))

    def screen() -> list[str]:
        hits = []
        for field in FIELDS:
            normalised = normalise(field)
            folded = fold(normalised)
            for pattern, exact in compiled:
                if pattern.search(normalised if exact else folded):
                    hits.append(pattern.pattern)
        return hits

    return screen


def main() -> None:
    started = time.perf_counter()
    small = (synthetic_lines(100, seed=1), synthetic_lines(100, seed=2))
    large = (synthetic_lines(10_000, seed=3), synthetic_lines(10_000, seed=4))

    compile_started = time.perf_counter()
    large_screener = Screener(banned=compile_list(large[0]), suspect=compile_list(large[1]))
    compile_s = time.perf_counter() - compile_started
    screeners = {
        "(a) no lists": Screener(),
        "(b) 100-entry lists": Screener(banned=compile_list(small[0]), suspect=compile_list(small[1])),
        "(c) 10,000-entry lists": large_screener,
    }

    print(f"screening one comment: 3 fields, {len(BODY)}-character body, {len(RECENT)} recent bodies; best of {ROUNDS}")
    results: dict[str, float] = {}
    for name, screener in screeners.items():
        results[name] = per_call_us(screening(screener), 2_000)
    results["naive loop, 100 entries/list"] = per_call_us(naive_loop(*small), 500)
    results["naive loop, 10,000 entries/list"] = per_call_us(naive_loop(*large), 5)

    baseline = results["(a) no lists"]
    for name, us in results.items():
        print(f"  {name:<34} {us:>10.1f} µs/call  {us / baseline:>7.2f}× (a)")
    print(f"  {'word lists alone, (c) - (a)':<34} {results['(c) 10,000-entry lists'] - baseline:>10.1f} µs/call")
    hits = sum(len(words.find(text)) for words in (large_screener.banned, large_screener.suspect) for text in FIELDS)
    print(f"  (c) finds {hits} entries in the comment: synthetic one-syllable entries are real words, a bad case")
    print(f"compiling two 10,000-entry lists: {compile_s:.2f} s (once, at start-up)")
    print(f"bench_flags finished in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
