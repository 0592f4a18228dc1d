"""Automatic flags at submission: Vietnamese word lists, links, phones, repeats, mojibake and mixed scripts."""

from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.events import Flag
from service.flags import CODES, FIELDS, Screener, Screening, default_screener
from service.text import fold_diacritics
from service.wordlists import Entry, WordList, compile_list, fold, load_list, parse_entry

NAME = "Nguyễn Văn Hùng"
TITLE = "Ý kiến bạn đọc"
BODY = "Bài viết rất hay, cảm ơn tác giả."


def screen(
    screener: Screener,
    *,
    author_name: str = NAME,
    title: str = TITLE,
    body: str = BODY,
    recent_bodies: tuple[str, ...] = (),
) -> Screening:
    return screener.screen(author_name=author_name, title=title, body=body, recent_bodies=recent_bodies)


def codes(screening: Screening) -> list[tuple[str, str | None]]:
    return [(flag.code, flag.field) for flag in screening.flags]


def banning(*lines: str) -> Screener:
    return Screener(banned=compile_list(lines))


def finds(lines: list[str], text: str) -> tuple[str, ...]:
    return compile_list(lines).find(text)


# --- word lists: Vietnamese matching -------------------------------------------------------------------------


def test_an_exact_entry_keeps_its_diacritics_so_cho_is_not_cho_with_an_accent() -> None:
    dog = ["chó | exact"]
    assert finds(dog, "Con chó nhà tôi") == ("chó",)
    assert finds(dog, "Cho tôi hỏi") == ()
    assert finds(dog, "đi chợ sớm") == ()
    assert finds(dog, "cái chõ xôi") == ()


def test_a_default_entry_also_matches_text_typed_without_diacritics() -> None:
    assert finds(["lừa đảo"], "Trang này lua dao đấy") == ("lừa đảo",)
    assert finds(["lừa đảo"], "LỪA ĐẢO!") == ("lừa đảo",)
    assert finds(["lua dao"], "đúng là lừa đảo") == ("lua dao",)


def test_an_entry_matches_whole_words_only() -> None:
    assert finds(["chó | exact"], "Tôi chóng mặt") == ()
    assert finds(["ngu | exact"], "Nguyễn Văn A ngủ sớm") == ()
    assert finds(["cá độ"], "loài cá độc nhất") == ()
    assert finds(["cá độ"], "tham gia cá độ bóng đá") == ("cá độ",)
    assert finds(["độ"], "cá độ.") == ("độ",)


def test_a_word_ends_at_a_digit_or_a_letter_of_any_script_but_not_at_punctuation() -> None:
    assert finds(["vay"], "vay2 lần") == ()
    assert finds(["vay"], "xvay") == ()
    assert finds(["vay"], "(vay)") == ("vay",)
    assert finds(["vay"], "vay_nhanh") == ("vay",)


def test_a_combining_mark_left_after_nfc_belongs_to_the_word() -> None:
    # "ó" followed by another acute cannot compose further, so the word is not "chó".
    assert finds(["chó | exact"], "chó\u0301") == ()


def test_decomposed_input_matches_like_composed_input() -> None:
    nfd = unicodedata.normalize("NFD", "Đúng là đồ chó")
    assert nfd != unicodedata.normalize("NFC", nfd)
    assert finds(["đồ chó | exact"], nfd) == ("đồ chó",)
    assert finds(["chó | exact"], unicodedata.normalize("NFD", "cho")) == ()


def test_case_folding_covers_the_vietnamese_d_with_stroke() -> None:
    assert finds(["đồ ngu"], "ĐỒ NGU") == ("đồ ngu",)
    assert finds(["đồ ngu"], "Đồ Ngu") == ("đồ ngu",)
    assert finds(["đồ ngu"], "DO NGU") == ("đồ ngu",)
    assert finds(["ĐỒ NGU | exact"], "đồ ngu") == ("ĐỒ NGU",)
    assert finds(["đồ ngu | exact"], "DO NGU") == ()


def test_the_words_of_a_phrase_match_across_several_spaces_and_punctuation() -> None:
    money = ["kiếm tiền online"]
    assert finds(money, "kiếm    tiền   online") == ("kiếm tiền online",)
    assert finds(money, "kiếm.tiền-online") == ("kiếm tiền online",)
    assert finds(money, "kiếm\ttiền\u00a0online") == ("kiếm tiền online",)
    assert finds(money, "kiếm tiềnonline") == ()


def test_a_phrase_does_not_match_across_a_line_break() -> None:
    assert finds(["lừa đảo"], "Tôi bị lừa.\nĐảo ngọc rất đẹp") == ()


def test_an_entry_with_punctuation_matches_the_same_words_with_any_separator() -> None:
    curse = ["đ.m | exact"]
    assert finds(curse, "Đ.M thằng này") == ("đ.m",)
    assert finds(curse, "đ m") == ("đ.m",)
    assert finds(curse, "đm") == ()


def test_a_prefix_entry_matches_longer_words_and_reports_the_entry() -> None:
    assert finds(["cá cược*"], "trang cá cượcbóngđá") == ("cá cược",)
    assert finds(["casino | prefix"], "vào casino123 ngay") == ("casino",)
    assert finds(["casino"], "vào casino123 ngay") == ()


def test_the_longest_entry_wins_and_a_shorter_one_is_found_when_the_longer_ends_inside_a_word() -> None:
    lines = ["vay", "vay tiền", "vay tiền nhanh"]
    assert finds(lines, "vay tiền nhanh") == ("vay tiền nhanh",)
    assert finds(lines, "vay tiền nhanhchóng") == ("vay tiền",)


def test_entries_are_reported_once_each_in_reading_order() -> None:
    lines = ["chó | exact", "đồ ngu"]
    assert finds(lines, "Đồ ngu, chó, đồ ngu, chó") == ("đồ ngu", "chó")


def test_cyrillic_and_fullwidth_look_alikes_do_not_dodge_a_list() -> None:
    assert finds(["lừa đảo"], "lừ\u0430 đảo") == ("lừa đảo",)  # Cyrillic а
    assert finds(["casino"], "ＣＡＳＩＮＯ") == ("casino",)


# --- the file format --------------------------------------------------------------------------------------------


def test_a_line_holds_an_entry_options_and_a_comment() -> None:
    assert parse_entry("chó | exact   # dog") == Entry("chó", exact=True)
    assert parse_entry("  vay tiền*  ") == Entry("vay tiền", prefix=True)
    assert parse_entry("casino|prefix,exact") == Entry("casino", exact=True, prefix=True)
    assert parse_entry("# a comment") is None
    assert parse_entry("   ") is None


def test_an_entry_is_kept_in_nfc() -> None:
    entry = parse_entry(unicodedata.normalize("NFD", "đồ chó"))
    assert entry is not None
    assert entry.text == unicodedata.normalize("NFC", "đồ chó")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["ok", "chó | exakt"], "line 2: unknown option 'exakt'"),
        (["...!"], "line 1: entry '...!' has no letters or digits"),
        (["| exact"], "line 1: options without an entry"),
        (["a" * 101], "line 1: entry"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(lines: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_list(lines)


def test_a_list_file_is_read_as_utf8_with_or_without_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "banned.txt"
    path.write_text("\ufeff# spam\nvay tiền nhanh\nchó | exact\n\n", encoding="utf-8")
    assert load_list(path).entries == (Entry("vay tiền nhanh"), Entry("chó", exact=True))


def test_a_bad_list_file_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "suspect.txt"
    path.write_text("ok\nbad | nope\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"suspect\.txt: line 2: unknown option"):
        load_list(path)


def test_an_empty_list_compiles_to_no_pattern_and_finds_nothing() -> None:
    assert WordList().patterns == ()
    assert compile_list(["# nothing yet"]).find("đồ ngu") == ()


def synthetic_entries(count: int) -> list[str]:
    rng = random.Random(2024)
    onsets = ["b", "c", "ch", "d", "đ", "g", "h", "kh", "l", "m", "n", "ng", "nh", "ph", "qu", "t", "th", "tr", "x"]
    vowels = ["a", "á", "à", "ả", "ă", "ắ", "â", "ấ", "e", "ê", "ế", "i", "o", "ó", "ô", "ồ", "ơ", "u", "ư", "ứ"]
    codas = ["", "", "c", "m", "n", "ng", "nh", "t"]
    entries: dict[str, None] = {}
    while len(entries) < count:
        words = " ".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.randint(2, 3)))
        entries[words + (" | exact" if rng.random() < 0.3 else "")] = None
    return list(entries)


def test_a_ten_thousand_entry_list_compiles_into_two_regexes_that_find_every_kind_of_entry() -> None:
    lines = synthetic_entries(10_000)
    words = compile_list(lines)
    assert len(words.entries) == 10_000
    assert len(words.patterns) == 2
    for line in (lines[0], lines[4_999], lines[9_999], *lines[1:2_000:97]):
        entry = parse_entry(line)
        assert entry is not None
        assert entry.text in words.find(f"Ý kiến: {entry.text.upper()}, thế thôi.")
        if not entry.exact:
            assert entry.text in words.find(f"y kien {fold_diacritics(entry.text)}!")
    first = parse_entry(lines[0])
    assert first is not None
    assert first.text not in words.find(f"{first.text}x")
    assert words.find("Hello world, 2024!") == ()


# --- screening: word-list flags per field -------------------------------------------------------------------


def test_a_banned_word_is_reported_in_the_field_it_was_found_and_holds_the_comment() -> None:
    screening = screen(banning("cá độ"), title="Cá độ bóng đá uy tín")
    assert screening == Screening(
        flags=(Flag(code="banned_word", field="title", detail='banned word "cá độ"'),), held=True
    )


def test_each_field_is_reported_separately() -> None:
    screener = Screener(banned=compile_list(["vay tiền nhanh"]), suspect=compile_list(["zalo"]))
    screening = screen(screener, author_name="Vay tiền nhanh", title="Zalo", body="vay tien nhanh qua zalo")
    assert codes(screening) == [
        ("banned_word", "author_name"),
        ("suspect_word", "title"),
        ("banned_word", "body"),
        ("suspect_word", "body"),
    ]


def test_a_suspect_word_flags_without_holding() -> None:
    screening = screen(Screener(suspect=compile_list(["chó | exact"])), body="Con chó nhà tôi rất khôn")
    assert screening == Screening(
        flags=(Flag(code="suspect_word", field="body", detail='suspect word "chó"'),), held=False
    )


def test_several_hits_are_listed_in_one_flag_and_long_lists_are_cut_short() -> None:
    screener = banning(*[f"từ{n}" for n in range(8)])
    [flag] = screen(screener, body=" ".join(f"từ{n}" for n in range(8))).flags
    assert flag.detail == 'banned words "từ0", "từ1", "từ2", "từ3", "từ4" and 3 more'


def test_a_clean_comment_gets_no_flags() -> None:
    assert screen(default_screener()) == Screening(flags=(), held=False)


# --- screening: the other signals ----------------------------------------------------------------------------


def test_links_are_counted_and_three_hold_the_comment() -> None:
    one = screen(Screener(), body="Xem thêm tại vnexpress.net nhé")
    assert one == Screening(flags=(Flag(code="links", field="body", detail="1 link"),), held=False)
    three = screen(Screener(), body="Vào https://abc.com/x?y=1, www.kiem-tien.vn hoặc bit.ly/abc ngay")
    assert three == Screening(flags=(Flag(code="links", field="body", detail="3 links"),), held=True)


def test_links_in_several_fields_add_up_to_the_holding_threshold() -> None:
    screening = screen(Screener(), author_name="abc.com", title="xyz.vn", body="Xem www.example.org")
    assert codes(screening) == [("links", "author_name"), ("links", "title"), ("links", "body")]
    assert screening.held


@pytest.mark.parametrize(
    "text", ["abc chấm com", "abc (.) com", "abc[dot]net", "abc . xyz", "Mail: ban@gmail.com", "vào t.me/kiemtien"]
)
def test_disguised_domains_and_email_addresses_count_as_links(text: str) -> None:
    assert codes(screen(Screener(), body=text)) == [("links", "body")]


@pytest.mark.parametrize(
    "text",
    [
        "Ở TP.HCM và Hà Nội",
        "cam, quýt v.v. đều ngon",
        "giá 3.5 triệu lúc 9.30",
        "Th.S Nguyễn Văn A",
        "đi học.Co gì đâu",
    ],
)
def test_abbreviations_and_numbers_are_not_links(text: str) -> None:
    assert screen(Screener(), body=text).flags == ()


def test_the_same_body_as_a_recent_comment_by_the_author_is_repeated_text() -> None:
    recent = ("Tôi hoàn toàn đồng ý!", "Bai viet rat hay,   cam on tac gia.")
    [flag] = screen(Screener(), recent_bodies=recent).flags
    assert flag == Flag(code="repeated_text", field="body", detail="same text as 1 recent comment by this author")


def test_a_nearly_identical_body_is_repeated_text_with_its_similarity() -> None:
    body = "Dự án đường gần nhà tôi đã bàn giao mặt bằng từ cuối năm ngoái, mong thành phố sớm thi công cho dân nhờ"
    recent = (body.replace("sớm", "nhanh chóng"),)
    [flag] = screen(Screener(), body=body, recent_bodies=recent).flags
    assert flag.code == "repeated_text"
    assert re.fullmatch(r"9\d% like a recent comment by this author", flag.detail)


def test_a_different_body_is_not_repeated_text() -> None:
    recent = ("Mong quận tiếp tục đầu tư cho 7 trường còn lại.", "Cảm ơn tác giả.")
    assert screen(Screener(), recent_bodies=recent).flags == ()


def test_the_seeds_mangled_captcha_label_is_mojibake() -> None:
    seed = Path(__file__).parents[2] / "seeds" / "original" / "000_ecc361b0bf4b0922.txt"
    label = next(line for line in seed.read_text(encoding="utf-8").splitlines() if line.startswith("Capcha:"))
    body = label.removeprefix("Capcha:").strip()
    assert body == "L?y l?i m\ufffd b?o m?t"
    [flag] = screen(Screener(), body=body).flags
    assert flag == Flag(code="mojibake", field="body", detail='mis-encoded text: 4 "?" inside words, 1 U+FFFD')


def test_utf8_read_as_windows_1252_is_mojibake() -> None:
    [flag] = screen(Screener(), title="Bình luáº­n").flags
    assert flag.code == "mojibake"
    assert flag.field == "title"
    assert flag.detail == 'mis-encoded text: 1 UTF-8 sequence read as Windows-1252 (e.g. "ậ")'
    assert codes(screen(Screener(), body="Ä‘Æ°á»\u009dng phá»‘")) == [("mojibake", "body")]


@pytest.mark.parametrize(
    "text",
    ["Sao vậy? Tôi không biết.", "Thật không?Vì sao", "Xem https://abc.com/?q=tin&x=y?z", "“ĐÃ”"],
)
def test_questions_urls_and_capitals_are_not_mojibake(text: str) -> None:
    assert "mojibake" not in [code for code, _ in codes(screen(Screener(), body=text))]


def test_a_name_with_a_cyrillic_letter_among_latin_ones_is_mixed_script() -> None:
    [flag] = screen(Screener(), author_name="Nguy\u0435n Văn Hùng").flags  # Cyrillic е
    assert flag == Flag(
        code="mixed_script",
        field="author_name",
        detail="the name mixes Latin and Cyrillic letters (U+0435 CYRILLIC SMALL LETTER IE)",
    )


def test_a_word_mixing_greek_and_latin_in_a_body_is_mixed_script() -> None:
    [flag] = screen(Screener(), body="Bài viết rất h\u03b1y").flags  # Greek α
    assert flag.detail == "1 word mixes Latin and Greek letters (U+03B1 GREEK SMALL LETTER ALPHA)"


@pytest.mark.parametrize("name", ["Иван Петров", "Nguyễn Văn Đức", "Σωκράτης"])
def test_a_name_in_one_script_is_not_mixed(name: str) -> None:
    assert screen(Screener(), author_name=name).flags == ()


def test_cyrillic_and_vietnamese_words_side_by_side_in_a_body_are_not_mixed() -> None:
    assert screen(Screener(), body="Chữ «спасибо» nghĩa là cảm ơn").flags == ()


@pytest.mark.parametrize("text", ["Liên hệ 0912 345 678", "gọi +84 98 765 4321", "0912.345.678", "ĐT: 024 3825 1234"])
def test_a_vietnamese_phone_number_in_the_body_is_personal_data(text: str) -> None:
    [flag] = screen(Screener(), body=text).flags
    assert flag == Flag(code="phone_in_body", field="body", detail="1 phone number (personal data)")


def test_a_phone_number_in_the_title_is_flagged_there() -> None:
    assert codes(screen(Screener(), title="Cần bán xe, gọi 0987654321")) == [("phone_in_body", "title")]


@pytest.mark.parametrize(
    "text",
    ["Năm 2024 có 150 người", "1.000.000.000 đồng", "mã số 0123456789", "số 09123", "tài khoản 190361234567890"],
)
def test_other_numbers_are_not_phone_numbers(text: str) -> None:
    assert screen(Screener(), body=text).flags == ()


def test_a_body_in_capital_letters_is_flagged_but_a_short_one_is_not() -> None:
    assert codes(screen(Screener(), body="TÔI RẤT BỨC XÚC VỚI BÀI VIẾT NÀY!")) == [("all_caps", "body")]
    assert screen(Screener(), body="ĐỒNG Ý!").flags == ()
    assert screen(Screener(), author_name="NGUYỄN VĂN HÙNG").flags == ()


def test_no_detail_repeats_the_commenters_own_words_or_numbers() -> None:
    # Flags are stored outside the personal part of the event, which erasure shreds.
    screening = screen(
        default_screener(),
        author_name="Nguy\u0435n Bí Mật",
        title="LIÊN HỆ NGAY SỐ 0912 345 678",
        body="Vào bimatcanhan.com, www.bimat.vn, L?y l?i m\ufffd — vay tiền nhanh",
        recent_bodies=("Vào bimatcanhan.com, www.bimat.vn, L?y l?i m\ufffd — vay tiền nhanh",),
    )
    assert {flag.code for flag in screening.flags} == {
        "mixed_script",
        "phone_in_body",
        "all_caps",
        "links",
        "mojibake",
        "banned_word",
        "repeated_text",
    }
    for flag in screening.flags:
        for secret in ("Bí Mật", "bimat", "0912", "345", "678", "L?y"):
            assert secret.casefold() not in flag.detail.casefold()


# --- the default lists ----------------------------------------------------------------------------------------


def test_the_default_lists_are_loaded_once_and_catch_loan_spam_and_insults() -> None:
    screener = default_screener()
    assert default_screener() is screener
    spam = screen(screener, body="Vay tien nhanh, giải ngân trong ngày, click vào link!")
    assert spam.flags == (
        Flag(
            code="banned_word",
            field="body",
            detail='banned words "vay tiền nhanh", "giải ngân trong ngày", "click vào link"',
        ),
    )
    assert spam.held
    insult = screen(screener, body="Đồ ngu, cút đi")
    assert codes(insult) == [("banned_word", "body"), ("suspect_word", "body")]


def test_the_default_suspect_list_tells_a_dog_from_giving_and_sleeping() -> None:
    screener = default_screener()
    assert screen(screener, body="Cho tôi hỏi, đi ngủ lúc mấy giờ?").flags == ()
    assert codes(screen(screener, body="Con chó ngu quá")) == [("suspect_word", "body")]


# --- properties -------------------------------------------------------------------------------------------------

ODD = st.sampled_from(["?", "\ufffd", "Ã¡", "áº­", "\u0430", "đ", "Đ", "\u0301", "0912 345 678", "a.com", "\n", " "])
TEXT = st.lists(st.one_of(st.text(max_size=20), ODD, st.sampled_from(["đồ ngu", "cá độ", "chó"]))).map("".join)


@given(author_name=TEXT, title=TEXT, body=TEXT, recent=st.lists(TEXT, max_size=3))
def test_screening_never_raises_and_reports_known_codes_for_known_fields(
    author_name: str, title: str, body: str, recent: list[str]
) -> None:
    screener = Screener(
        banned=compile_list(["đồ ngu", "cá độ*", "casino | prefix"]),
        suspect=compile_list(["chó | exact", "ngu | exact"]),
    )
    screening = screener.screen(author_name=author_name, title=title, body=body, recent_bodies=recent)
    links = 0
    for flag in screening.flags:
        assert flag.code in CODES
        assert flag.field in FIELDS
        assert flag.detail
        if flag.code == "links":
            links += int(flag.detail.split()[0])
    assert screening.held == (any(flag.code == "banned_word" for flag in screening.flags) or links >= 3)


@given(st.text().map(lambda text: re.sub(r"[|#\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", " ", text)))
def test_an_entry_always_finds_itself(line: str) -> None:
    try:
        entry = parse_entry(line)
    except ValueError:
        return
    if entry is not None:
        assert compile_list([line]).find(entry.text) == (entry.text,)


@given(st.text())
def test_the_fast_folding_agrees_with_fold_diacritics(text: str) -> None:
    assert fold(text) == fold_diacritics(text)
