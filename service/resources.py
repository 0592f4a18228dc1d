"""Data shipped with the package: migrations, seeds and word lists, and the CAPTCHA voices."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """A data folder shipped with the package (wheel) or lying beside it (checkout)."""
    for candidate in (PACKAGE / "_bundled" / name, PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the {name} folder is neither bundled with the package nor beside it")


def captcha_voices() -> Path:
    """The voices: one folder per alphabet character, Vietnamese names (scripts/make_captcha_voices.sh)."""
    return PACKAGE / "captcha_voices"
