"""Unit tests for service.text: cleaning names, titles, bodies and notes, and Vietnamese phone numbers."""

from __future__ import annotations

import pickle
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.text import (
    AUTHOR_NAME_MAX_LEN,
    BODY_MAX_LEN,
    NOTE_MAX_LEN,
    TITLE_MAX_LEN,
    ErrorCode,
    FieldError,
    casefold_nfc,
    clean_body,
    clean_line,
    clean_optional,
    fold_diacritics,
    mask_phone,
    normalize_phone,
)

NAME = "Nguyễn Văn Đức"

# Characters no cleaned line may contain; mixed into generated text so that Hypothesis hits them often.
NOT_IN_A_LINE = [
    "\u0000",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x1f",
    "\x7f",
    "\x85",
    "\x9b",
    "\u00a0",
    "\u061c",
    "\u1680",
    "\u2003",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u2028",
    "\u2029",
    "\u202a",
    "\u202e",
    "\u2060",
    "\u2066",
    "\u2069",
    "\u3000",
    "\ufeff",
    "\ufdd0",
    "\ufffe",
    "\uffff",
    "\U0010ffff",
]
TRICKY = [
    *NOT_IN_A_LINE,
    "\u0301",
    "\u0303",
    "\u0323",
    "\u0309",
    "e",
    "ê",
    "Đ",
    " ",
]
tricky_text = st.text(st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(TRICKY)))


def error_of(exc_info: pytest.ExceptionInfo[FieldError]) -> tuple[str, str]:
    return exc_info.value.field, exc_info.value.code


# --- FieldError and limits ----------------------------------------------------------------------------------


def test_a_field_error_is_a_value_error_carrying_field_and_code() -> None:
    error = FieldError("title", ErrorCode.TOO_LONG)

    assert isinstance(error, ValueError)
    assert error.field == "title"
    assert error.code == "too_long"
    assert type(error.code) is str
    assert str(error) == "title: too_long"


def test_a_field_error_survives_pickling() -> None:
    restored = pickle.loads(pickle.dumps(FieldError("phone", "invalid_phone")))  # noqa: S301

    assert (restored.field, restored.code) == ("phone", "invalid_phone")


def test_error_codes_have_the_documented_machine_values() -> None:
    assert {code.value for code in ErrorCode} == {
        "required",
        "too_short",
        "too_long",
        "invalid_characters",
        "invalid_phone",
        "obsolete_prefix",
    }


def test_the_length_limits_are_the_documented_ones() -> None:
    # docs/api.md and the widget's counter (static/widget.js) state these numbers.
    assert (AUTHOR_NAME_MAX_LEN, TITLE_MAX_LEN, BODY_MAX_LEN, NOTE_MAX_LEN) == (80, 150, 5000, 1000)


# --- clean_line ---------------------------------------------------------------------------------------------


def test_an_nfd_vietnamese_name_is_stored_as_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", NAME)
    assert decomposed != NAME

    cleaned = clean_line(decomposed, "author_name", AUTHOR_NAME_MAX_LEN)

    assert cleaned == NAME
    assert cleaned.encode("utf-8") == NAME.encode("utf-8")


def test_a_clean_vietnamese_title_is_returned_unchanged() -> None:
    title = "Giá xăng tăng lần thứ ba: người dân ở Hà Nội, TP.HCM nói gì?"

    assert clean_line(title, "title", TITLE_MAX_LEN) == title


def test_surrounding_whitespace_is_trimmed_from_a_line() -> None:
    assert clean_line("   Lan  \n", "author_name", 80) == "Lan"


@pytest.mark.parametrize(
    "space",
    ["\n", "\r\n", "\t", "\u00a0", "\u2003", "\u3000", "\u202f", "\u2028", "\x85", "  \n\t \u00a0 "],
)
def test_any_whitespace_run_in_a_line_becomes_one_ordinary_space(space: str) -> None:
    assert clean_line(f"Trần{space}Thị{space}Mai", "author_name", 80) == "Trần Thị Mai"


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x80", "\x9b", "\x9f"])
def test_control_characters_are_removed_from_a_line(control: str) -> None:
    assert clean_line(f"Hoà{control}ng", "author_name", 80) == "Hoàng"


@pytest.mark.parametrize(
    "bidi",
    ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2069", "\u061c"],
)
def test_bidi_controls_are_removed_from_a_line(bidi: str) -> None:
    assert clean_line(f"{bidi}Admin{bidi}", "author_name", 80) == "Admin"


def test_a_right_to_left_override_cannot_disguise_a_name() -> None:
    # Rendered, "\u202egnp.exe" shows as "exe.png"; stored it must read exactly as typed.
    assert clean_line("ảnh\u202egnp.exe", "title", 150) == "ảnhgnp.exe"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_are_removed_from_a_line(invisible: str) -> None:
    assert clean_line(f"Quản{invisible} trị{invisible}viên", "author_name", 80) == "Quản trịviên"


def test_a_zero_width_space_between_spaces_does_not_leave_a_double_space() -> None:
    assert clean_line("Lê \u200b Minh", "author_name", 80) == "Lê Minh"


@pytest.mark.parametrize("nonchar", ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"])
def test_noncharacters_are_removed_from_a_line(nonchar: str) -> None:
    assert clean_line(f"Phạm{nonchar}", "author_name", 80) == "Phạm"


def test_removing_an_invisible_between_a_letter_and_its_accent_still_gives_nfc() -> None:
    cleaned = clean_line("Nguye\u200b\u0302\u0303n", "author_name", 80)

    assert cleaned == "Nguyễn"
    assert unicodedata.is_normalized("NFC", cleaned)


@pytest.mark.parametrize(
    "markup",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert('xss')</script>",
        "'; DROP TABLE comments; --",
        "{{7*7}} ${7*7} %s %(x)s",
        "Ã„Ã¶ mojibake: NguyÃªn VÄƒn",
        "&lt;b&gt; &amp; \\u0000",
    ],
)
def test_markup_and_injection_attempts_pass_through_as_plain_text(markup: str) -> None:
    # Escaping belongs to the renderer; altering text here would corrupt legitimate comments about HTML.
    assert clean_line(markup, "title", 150) == markup
    assert clean_body(markup) == markup


@pytest.mark.parametrize(
    "blank",
    [
        "",
        " ",
        "\n\t",
        "\u00a0\u3000",
        "\u200b\u200d\ufeff",
        "\x00\x1b",
        "\u202e",
    ],
)
def test_a_line_that_is_empty_after_cleaning_is_required(blank: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_line(blank, "author_name", 80)

    assert error_of(exc_info) == ("author_name", "required")


def test_a_line_of_exactly_the_maximum_length_is_accepted() -> None:
    assert clean_line("ư" * 80, "author_name", 80) == "ư" * 80


def test_a_line_one_character_over_the_maximum_is_too_long() -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_line("ư" * 81, "author_name", 80)

    assert error_of(exc_info) == ("author_name", "too_long")


def test_a_line_is_measured_after_normalisation_not_before() -> None:
    # 80 letters decomposed are 200 code points; composed they fit exactly.
    decomposed = unicodedata.normalize("NFD", "ễ" * 40 + "ặ" * 40)
    assert len(decomposed) > 80

    assert len(clean_line(decomposed, "author_name", 80)) == 80


def test_stripped_padding_does_not_count_towards_the_length() -> None:
    assert clean_line(" \u200b" * 500 + "An" + "\u00a0" * 500, "author_name", 80) == "An"


@pytest.mark.parametrize("surrogate", ["\ud800", "Tên\udc00", "\udfffcuối"])
def test_a_lone_surrogate_in_a_line_is_invalid(surrogate: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_line(surrogate, "title", 150)

    assert error_of(exc_info) == ("title", "invalid_characters")


def test_an_astral_emoji_in_a_line_is_kept() -> None:
    assert clean_line("Tuyệt vời 🎉", "title", 150) == "Tuyệt vời 🎉"


@given(tricky_text)
def test_clean_line_is_idempotent(raw: str) -> None:
    try:
        once = clean_line(raw, "title", 10_000)
    except FieldError:
        return
    assert clean_line(once, "title", 10_000) == once


@given(tricky_text)
def test_clean_line_output_is_nfc_single_line_and_visible_at_the_edges(raw: str) -> None:
    try:
        cleaned, code = clean_line(raw, "title", 10_000), None
    except FieldError as error:
        cleaned, code = "", error.code
    assert code in {None, "required"}
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(ch.isspace() and ch != " " for ch in cleaned)
    assert not set(cleaned) & set(NOT_IN_A_LINE)


# --- clean_body ---------------------------------------------------------------------------------------------


def test_a_body_keeps_its_paragraphs() -> None:
    body = "Bài viết rất hay.\n\nTôi đồng ý với tác giả:\n- điểm một\n- điểm hai"

    assert clean_body(body) == body


def test_an_nfd_body_is_stored_as_nfc() -> None:
    body = "Cảm ơn tác giả Đặng Thùy Trâm.\nRất xúc động."

    assert clean_body(unicodedata.normalize("NFD", body)).encode() == body.encode()


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\u2028", "\u2029", "\x85"])
def test_every_kind_of_line_break_in_a_body_becomes_lf(newline: str) -> None:
    assert clean_body(f"một{newline}hai{newline}ba") == "một\nhai\nba"


def test_a_windows_blank_line_stays_a_single_blank_line() -> None:
    assert clean_body("đoạn 1\r\n\r\nđoạn 2") == "đoạn 1\n\nđoạn 2"


@pytest.mark.parametrize("control", ["\x00", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x9b"])
def test_control_characters_other_than_newline_and_tab_are_removed_from_a_body(control: str) -> None:
    assert clean_body(f"a{control}b") == "ab"


def test_tabs_inside_a_body_are_kept() -> None:
    assert clean_body("Tên:\tAn\nTuổi:\t30") == "Tên:\tAn\nTuổi:\t30"


@pytest.mark.parametrize(
    "bidi",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2069",
    ],
)
def test_bidi_overrides_and_isolates_are_removed_from_a_body(bidi: str) -> None:
    assert clean_body(f"xem {bidi}gnp.exe") == "xem gnp.exe"


def test_bidi_marks_are_kept_in_a_body() -> None:
    body = "Tên tiếng Ả Rập: \u200fمحمد\u200e và \u061cعلي"

    assert clean_body(body) == body


@pytest.mark.parametrize(
    "emoji",
    [
        "👨\u200d👩\u200d👧\u200d👦",
        "🏳️\u200d🌈",
        "👩🏽\u200d💻",
        "❤️\u200d🔥",
        "🇻🇳",
    ],
)
def test_emoji_zwj_sequences_in_a_body_are_preserved(emoji: str) -> None:
    body = f"Cả nhà mình ủng hộ {emoji}!"

    assert clean_body(body) == body


def test_zwnj_is_kept_in_a_body() -> None:
    assert clean_body("می\u200cخواهم") == "می\u200cخواهم"


@pytest.mark.parametrize("invisible", ["\u200b", "\u2060", "\ufeff", "\ufffe", "\ufdd0", "\U0010ffff"])
def test_other_invisibles_and_noncharacters_are_removed_from_a_body(invisible: str) -> None:
    assert clean_body(f"{invisible}ngu{invisible}ngốc") == "ngungốc"


def test_trailing_whitespace_is_stripped_from_every_body_line() -> None:
    assert clean_body("dòng một   \t\ndòng hai\u00a0\u3000\ndòng ba") == "dòng một\ndòng hai\ndòng ba"


def test_leading_indentation_inside_a_body_is_kept() -> None:
    assert clean_body("Thơ:\n    Trăng ơi từ đâu đến?") == "Thơ:\n    Trăng ơi từ đâu đến?"


@pytest.mark.parametrize("blank_lines", [3, 4, 10])
def test_three_or_more_blank_lines_in_a_body_collapse_to_two(blank_lines: int) -> None:
    assert clean_body("trên" + "\n" * (blank_lines + 1) + "dưới") == "trên\n\n\ndưới"


def test_two_blank_lines_in_a_body_are_kept() -> None:
    assert clean_body("trên\n\n\ndưới") == "trên\n\n\ndưới"


def test_lines_of_only_whitespace_count_as_blank_when_collapsing() -> None:
    assert clean_body("trên\n  \n\t\n \u00a0\n\ndưới") == "trên\n\n\ndưới"


def test_blank_space_around_the_whole_body_is_trimmed() -> None:
    assert clean_body("\n\n  \r\n  Xin chào  \n\n\n") == "Xin chào"


@pytest.mark.parametrize("blank", ["", "\n\n\n", " \t\r\n\u3000", "\u200b\ufeff\u202e"])
def test_a_body_that_is_empty_after_cleaning_is_required(blank: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_body(blank)

    assert error_of(exc_info) == ("body", "required")


def test_a_body_at_the_limit_is_accepted_and_one_over_is_too_long() -> None:
    assert len(clean_body("ơ" * BODY_MAX_LEN)) == BODY_MAX_LEN

    with pytest.raises(FieldError) as exc_info:
        clean_body("ơ" * (BODY_MAX_LEN + 1))

    assert error_of(exc_info) == ("body", "too_long")


def test_a_decomposed_body_is_measured_after_normalisation() -> None:
    assert len(clean_body(unicodedata.normalize("NFD", "ữ" * BODY_MAX_LEN))) == BODY_MAX_LEN


def test_clean_body_accepts_another_field_name_and_limit() -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_body("quá dài", "summary", 3)

    assert error_of(exc_info) == ("summary", "too_long")


def test_a_lone_surrogate_in_a_body_is_invalid() -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_body("bình luận \ud83d")

    assert error_of(exc_info) == ("body", "invalid_characters")


@given(tricky_text)
def test_clean_body_is_idempotent(raw: str) -> None:
    try:
        once = clean_body(raw, max_len=100_000)
    except FieldError:
        return
    assert clean_body(once, max_len=100_000) == once
    assert unicodedata.is_normalized("NFC", once)
    assert "\r" not in once
    assert "\n\n\n\n" not in once


# --- clean_optional -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("absent", [None, "", "   ", "\n\u00a0\t", "\u200b\u202e"])
def test_an_absent_or_blank_note_is_none(absent: str | None) -> None:
    assert clean_optional(absent, "note") is None


def test_a_note_is_cleaned_like_a_line() -> None:
    assert clean_optional("  Spam\n\u200bquảng cáo  ", "reason") == "Spam quảng cáo"


def test_a_multiline_note_keeps_its_line_breaks() -> None:
    assert clean_optional("Spam\r\n\r\nxem #12  ", "note", multiline=True) == "Spam\n\nxem #12"


def test_a_blank_multiline_note_is_none() -> None:
    assert clean_optional("\n \n", "note", multiline=True) is None


def test_a_note_over_the_limit_is_too_long() -> None:
    assert clean_optional("a" * NOTE_MAX_LEN, "note") == "a" * NOTE_MAX_LEN

    with pytest.raises(FieldError) as exc_info:
        clean_optional("a" * (NOTE_MAX_LEN + 1), "note")

    assert error_of(exc_info) == ("note", "too_long")


def test_a_note_with_a_lone_surrogate_is_invalid() -> None:
    with pytest.raises(FieldError) as exc_info:
        clean_optional("\udfff", "reason", 1000)

    assert error_of(exc_info) == ("reason", "invalid_characters")


# --- normalize_phone ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0912 345 678",
        "+84912345678",
        "(+84) 91-234-5678",
        "84912345678",
        "0912.345.678",
        "0912345678",
        "0084912345678",
        "00 84 912 345 678",
        "+84 (0) 912 345 678",
        "+84 912-345-678",
        "(091) 234 5678",
        "0912–345–678",
        "  0912345678\n",
        "０９１２３４５６７８",
        "＋８４　９１２　３４５　６７８",
    ],
)
def test_every_way_of_writing_a_mobile_gives_the_same_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+84912345678"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0321234567", "+84321234567"),
        ("0398765432", "+84398765432"),
        ("0521234567", "+84521234567"),
        ("0551234567", "+84551234567"),
        ("0561234567", "+84561234567"),
        ("0581234567", "+84581234567"),
        ("0591234567", "+84591234567"),
        ("0701234567", "+84701234567"),
        ("0761234567", "+84761234567"),
        ("0791234567", "+84791234567"),
        ("0811234567", "+84811234567"),
        ("0891234567", "+84891234567"),
        ("0901234567", "+84901234567"),
        ("0991234567", "+84991234567"),
        ("84861234567", "+84861234567"),
    ],
)
def test_every_post_2018_mobile_prefix_is_accepted(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("024 3825 1234", "+842438251234"),
        ("028 3829 5555", "+842838295555"),
        ("0236 3822 111", "+842363822111"),
        ("+84 24 3825 1234", "+842438251234"),
        ("0084 24 3825 1234", "+842438251234"),
        ("842438251234", "+842438251234"),
    ],
)
def test_a_landline_with_an_02_area_code_is_accepted(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "01234567890",
        "+841234567890",
        "0084 1689 123 456",
        "0168-912-3456",
        "841234567890",
    ],
)
def test_a_pre_2018_eleven_digit_mobile_has_an_obsolete_prefix(raw: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone(raw)

    assert error_of(exc_info) == ("phone", "obsolete_prefix")


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "+84",
        "0084",
        "091234567",
        "+8491234567",
        "0912",
        "024 3825 123",
        "0123456789",
    ],
)
def test_a_number_with_too_few_digits_is_too_short(raw: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone(raw)

    assert error_of(exc_info) == ("phone", "too_short")


@pytest.mark.parametrize(
    "raw", ["09123456789", "+849123456789", "024 3825 12345", "012345678901", "0912 345 678 999 999"]
)
def test_a_number_with_too_many_digits_is_too_long(raw: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone(raw)

    assert error_of(exc_info) == ("phone", "too_long")


@pytest.mark.parametrize(
    "raw",
    [
        "0912abc678",
        "0912 345 678 ext 2",
        "phone: 0912345678",
        "tel:+84912345678",
        "0912/345/678",
        "0912_345_678",
        "09123456７8x",
        "091234567８💀",
        "+",
        "---",
        "84+912345678",
        "++84912345678",
        "٠٩١٢٣٤٥٦٧٨",
        "<script>0912345678</script>",
    ],
)
def test_letters_and_other_junk_make_a_phone_invalid(raw: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone(raw)

    assert error_of(exc_info) == ("phone", "invalid_phone")


@pytest.mark.parametrize(
    "raw",
    [
        "0312345678",
        "0512345678",
        "0712345678",
        "0801234567",
        "0412345678",
        "0612345678",
        "00912345678",
        "+14155552671",
        "0044 20 7946 0958",
        "912345678",
        "8491234567",
    ],
)
def test_an_unknown_prefix_or_a_foreign_number_is_invalid(raw: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone(raw)

    assert error_of(exc_info) == ("phone", "invalid_phone")


@pytest.mark.parametrize("blank", ["", "   ", "\u3000\n"])
def test_a_blank_phone_is_required(blank: str) -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone(blank)

    assert error_of(exc_info) == ("phone", "required")


def test_phone_errors_name_the_field_they_were_given() -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone("abc", "contact_phone")

    assert error_of(exc_info) == ("contact_phone", "invalid_phone")


def test_a_lone_surrogate_in_a_phone_is_invalid_rather_than_crashing() -> None:
    with pytest.raises(FieldError) as exc_info:
        normalize_phone("0912\ud800345678")

    assert error_of(exc_info) == ("phone", "invalid_phone")


@given(st.text())
def test_normalize_phone_only_ever_raises_field_errors_and_returns_e164(raw: str) -> None:
    try:
        e164 = normalize_phone(raw)
    except FieldError:
        return
    assert e164.startswith("+84")
    assert e164[1:].isascii()
    assert e164[1:].isdigit()
    assert normalize_phone(e164) == e164


# --- mask_phone ---------------------------------------------------------------------------------------------


def test_a_mobile_is_masked_down_to_its_country_code_two_digits_and_the_last_two() -> None:
    assert mask_phone("+84912345678") == "+8491*****78"


def test_a_landline_is_masked_the_same_way() -> None:
    assert mask_phone("+842438251234") == "+8424******34"


@pytest.mark.parametrize(
    "not_e164",
    [
        "",
        "0912345678",
        "+84 912 345 678",
        "secret",
        "+8491",
        "+84912345678\n",
    ],
)
def test_masking_something_that_is_not_a_normalised_number_reveals_nothing(not_e164: str) -> None:
    assert mask_phone(not_e164) == "***"


# --- fold_diacritics and casefold_nfc -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        (NAME, "Nguyen Van Duc"),
        (unicodedata.normalize("NFD", NAME), "Nguyen Van Duc"),
        ("đĐ", "dD"),
        ("Ðặng", "Dang"),
        ("Trường Sa, Hoàng Sa là của Việt Nam", "Truong Sa, Hoang Sa la cua Viet Nam"),
        ("ăâêôơưĂÂÊÔƠƯ", "aaeoouAAEOOU"),
        ("àáảãạ ằắẳẵặ ầấẩẫậ", "aaaaa aaaaa aaaaa"),
        ("ỳýỷỹỵ", "yyyyy"),
        ("Hello, world!", "Hello, world!"),
        ("👨\u200d👩\u200d👧 🇻🇳", "👨\u200d👩\u200d👧 🇻🇳"),
        ("한국어", "한국어"),
    ],
)
def test_fold_diacritics_removes_vietnamese_accents(text: str, folded: str) -> None:
    assert fold_diacritics(text) == folded


def test_a_folded_word_matches_however_its_accents_were_typed() -> None:
    typed = ["đồ ngốc", unicodedata.normalize("NFD", "đồ ngốc"), "đô ngôc", "do ngoc"]

    assert {fold_diacritics(word) for word in typed} == {"do ngoc"}


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("NGUYỄN", "nguyễn"),
        (unicodedata.normalize("NFD", "ĐẶNG"), "đặng"),
        ("Straße", "strasse"),
    ],
)
def test_casefold_nfc_lowercases_and_returns_nfc(text: str, folded: str) -> None:
    result = casefold_nfc(text)

    assert result == folded
    assert unicodedata.is_normalized("NFC", result)


def test_casefold_and_fold_together_give_an_accent_and_case_insensitive_key() -> None:
    assert fold_diacritics(casefold_nfc("ĐỨC")) == fold_diacritics(casefold_nfc("đức")) == "duc"
