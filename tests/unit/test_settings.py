"""Settings come from the environment exactly as DESIGN names them, with clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import DEFAULT_DATABASE_URL, Environment, Moderation, Settings, SettingsError

KEY = "k" * 40


def test_an_empty_environment_gives_the_embedded_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.host, settings.port, settings.env) == ("127.0.0.1", 8080, Environment.DEVELOPMENT)
    assert (settings.moderation, settings.rate_limit, settings.min_submit_seconds) == (Moderation.PRE, 5, 2)
    assert settings.data_dir == Path("var")


def test_every_documented_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "COMMENTS_DATABASE_URL": "postgresql+asyncpg://u@db/comments",
            "COMMENTS_HOST": "0.0.0.0",  # noqa: S104 - only parsed
            "COMMENTS_PORT": "9000",
            "COMMENTS_ENV": "production",
            "COMMENTS_SECRET_KEY": KEY,
            "COMMENTS_ALLOWED_ORIGINS": "https://news.example, https://m.news.example/",
            "COMMENTS_MODERATION": "post",
            "COMMENTS_RATE_LIMIT": "0",
            "COMMENTS_MIN_SUBMIT_SECONDS": "0",
        }
    )

    assert settings.allowed_origins == ("https://news.example", "https://m.news.example")
    assert (settings.port, settings.moderation, settings.rate_limit, settings.min_submit_seconds) == (
        9000,
        Moderation.POST,
        0,
        0,
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"COMMENTS_ENV": "production"}, "COMMENTS_SECRET_KEY"),
        (
            {"COMMENTS_ENV": "production", "COMMENTS_SECRET_KEY": KEY, "COMMENTS_CAPTCHA_TEST_ANSWER": "ABCDE"},
            "COMMENTS_CAPTCHA_TEST_ANSWER",
        ),
        ({"COMMENTS_ENV": "staging"}, "COMMENTS_ENV"),
        ({"COMMENTS_PORT": "eighty"}, "COMMENTS_PORT"),
        ({"COMMENTS_RATE_LIMIT": "-1"}, "COMMENTS_RATE_LIMIT"),
        ({"COMMENTS_MODERATION": "later"}, "COMMENTS_MODERATION"),
        ({"COMMENTS_DATABASE_URL": "mysql://x"}, "COMMENTS_DATABASE_URL"),
        ({"COMMENTS_SECRET_KEY": "short"}, "COMMENTS_SECRET_KEY"),
        ({"COMMENTS_CAPTCHA_TEST_ANSWER": "TEST1"}, "COMMENTS_CAPTCHA_TEST_ANSWER"),
        ({"COMMENTS_BANNED_WORDS": "/nonexistent/banned.txt"}, "COMMENTS_BANNED_WORDS"),
        ({"COMMENTS_CDN_MAX_AGE": "-5"}, "COMMENTS_CDN_MAX_AGE"),
    ],
)
def test_a_bad_setting_is_refused_by_name(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_the_cdn_may_keep_public_reads_ten_seconds_unless_told_otherwise() -> None:
    assert Settings.from_env({}).cdn_max_age == 10
    assert Settings.from_env({"COMMENTS_CDN_MAX_AGE": "60"}).cdn_max_age == 60
    assert Settings.from_env({"COMMENTS_CDN_MAX_AGE": "0"}).cdn_max_age == 0


def test_the_development_key_lives_beside_the_sqlite_file() -> None:
    settings = Settings.from_env({"COMMENTS_DATABASE_URL": "sqlite+aiosqlite:////srv/data/comments.db"})

    assert settings.data_dir == Path("/srv/data")


def test_the_settings_alphabet_is_the_captcha_alphabet() -> None:
    from service import captcha, settings

    assert settings.CAPTCHA_ALPHABET == captcha.ALPHABET
