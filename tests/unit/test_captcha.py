"""The pure parts of the CAPTCHA: answer derivation, normalisation and rendering."""

from __future__ import annotations

import io
import wave

import pytest

from service import captcha
from service.resources import captcha_voices

SECRET = b"s" * 32


def test_the_answer_is_derived_deterministically_from_the_id() -> None:
    assert captcha.answer_for(SECRET, "abc", None) == captcha.answer_for(SECRET, "abc", None)


def test_answers_use_only_the_alphabet_and_have_the_fixed_length() -> None:
    for n in range(500):
        answer = captcha.answer_for(SECRET, f"id-{n}", None)
        assert len(answer) == captcha.ANSWER_LENGTH
        assert set(answer) <= set(captcha.ALPHABET)


def test_answers_cover_the_whole_alphabet() -> None:
    seen = {c for n in range(500) for c in captcha.answer_for(SECRET, f"id-{n}", None)}
    assert seen == set(captcha.ALPHABET)


def test_the_answer_differs_per_id_and_per_secret() -> None:
    answers = {captcha.answer_for(SECRET, f"id-{n}", None) for n in range(50)}
    assert len(answers) > 45
    assert captcha.answer_for(SECRET, "abc", None) != captcha.answer_for(b"t" * 32, "abc", None)


def test_the_test_answer_overrides_the_derived_one_upper_cased() -> None:
    assert captcha.answer_for(SECRET, "abc", " test1 ") == "TEST1"


@pytest.mark.parametrize("test_answer", ["", "   ", "X" * 33])
def test_an_empty_or_overlong_test_answer_is_refused(test_answer: str) -> None:
    with pytest.raises(ValueError, match="test answer"):
        captcha.answer_for(SECRET, "abc", test_answer)


def test_normalisation_trims_and_ignores_case() -> None:
    assert captcha.normalize_answer(" ab3de ") == "AB3DE"
    assert captcha.check_hash(SECRET, "abc", captcha.normalize_answer(" ab3de ")) == captcha.check_hash(
        SECRET, "abc", "AB3DE"
    )


def test_normalisation_folds_full_width_characters() -> None:
    assert captcha.normalize_answer("\uff41\uff42\uff13") == "AB3"


def test_the_check_hash_is_bound_to_the_id() -> None:
    assert captcha.check_hash(SECRET, "a", "AB3DE") != captcha.check_hash(SECRET, "b", "AB3DE")


def test_render_png_returns_a_png_without_the_answer_in_clear() -> None:
    png = captcha.render_png("AB3DE")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"AB3DE" not in png.upper()


def test_render_wav_speaks_every_alphabet_character() -> None:
    for char in captcha.ALPHABET:
        data = captcha.render_wav(char * 2)
        assert data[:4] == b"RIFF"
        assert data[8:12] == b"WAVE"
        with wave.open(io.BytesIO(data)) as audio:
            # Beeps and noise alone make about a second; the voices make the rest.
            assert audio.getnframes() > 8000


def test_every_alphabet_character_has_a_voice_in_the_format_audio_captcha_splices() -> None:
    for char in captcha.ALPHABET:
        files = sorted((captcha_voices() / char).glob("*.wav"))
        assert files, char
        for path in files:
            with wave.open(str(path)) as voice:
                assert (voice.getnchannels(), voice.getsampwidth(), voice.getframerate()) == (1, 1, 8000)
                assert voice.getnframes() > 800, path


def test_render_wav_refuses_a_character_without_a_voice() -> None:
    with pytest.raises(ValueError, match="no CAPTCHA voice"):
        captcha.render_wav("AB1")
