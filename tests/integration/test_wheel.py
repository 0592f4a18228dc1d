"""The built wheel carries its migrations, seeds, word lists, voices and static files, and its CLI runs from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run("-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT), cwd=out)
    assert built.returncode == 0, built.stderr
    [path] = out.glob("comments_service-*.whl")
    return path


def test_the_wheel_ships_everything_the_service_reads_at_run_time(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    for needed in (
        "service/_bundled/migrations/env.py",
        "service/_bundled/migrations/versions/0001_initial.py",
        "service/_bundled/seeds/comments.json",
        "service/_bundled/seeds/articles/bac-tu-liem-thi-dua-bau-cu.json",
        "service/_bundled/seeds/wordlists/banned.txt",
        "service/web/static/widget.js",
        "service/web/static/console/index.html",
        "service/captcha_voices/A/1.wav",
    ):
        assert needed in names, needed


def test_the_cli_from_the_installed_wheel_migrates_seeds_and_verifies_from_any_folder(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    installed = _run("-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel), cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(target),  # ahead of the editable checkout: the wheel's copy is the one imported
        "COMMENTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'wheel.db'}",
        "COMMENTS_SECRET_KEY": TEST_SECRET,
    }

    where = _run("-c", "import service; print(service.__file__)", cwd=elsewhere, env=env)
    steps = [
        _run("-m", "service", *command, cwd=elsewhere, env=env)
        for command in (["migrate"], ["seed"], ["audit", "verify"])
    ]

    assert where.stdout.strip().startswith(str(target))
    for step in steps:
        assert step.returncode == 0, step.stderr
